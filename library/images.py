"""Container images: pinned once in manifests/images.yaml, rewritten for a private registry."""

from __future__ import annotations

from library import manifests


def _split(reference: str) -> tuple[str, str]:
    """(registry host, path:tag) of an image reference, with Docker Hub's implicit names made explicit."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    # Docker Hub: "mysql:8.4" is docker.io/library/mysql:8.4, "chrislusf/seaweedfs" is docker.io/chrislusf/...
    return "docker.io", reference if rest else f"library/{reference}"


def rewrite(reference: str, registry: str) -> str:
    """`reference` with its registry host replaced by `registry` (host[:port][/path]); unchanged if empty.

    The path below the host is kept, as registry mirroring tools (skopeo sync, crane copy) lay it out:
    ghcr.io/kubeflow/kfp-api-server:2.16.0 -> <registry>/kubeflow/kfp-api-server:2.16.0.
    """
    if not registry:
        return reference
    _, path = _split(reference)
    return f"{registry.rstrip('/')}/{path}"


def catalog(registry: str = "") -> dict[str, str]:
    """Every pinned image by its short name, after the registry override."""
    return {name: rewrite(ref, registry) for name, ref in manifests.data("images.yaml").items()}
