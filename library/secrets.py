"""Secrets: the one template every component and distribution renders its Secrets from."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from library.manifests import render


def secret(
    name: str, ns: str, labels: Mapping[str, str], values: Mapping[str, pulumi.Input[str]], type: str = "Opaque"
) -> dict:
    """A Secret object of `type` holding `values` (in `stringData`, in the given order).

    Values may be Pulumi Outputs (secret or not) or plain strings; they are placed by `render`'s
    `outputs`, so none of them passes through a template. `type`: `Opaque`, or a type whose keys
    Kubernetes checks, such as `kubernetes.io/tls` (`tls.crt`, `tls.key`).
    """
    return render(
        "library/Secret.yaml.j2", outputs=values, name=name, ns=ns, labels=dict(labels), keys=list(values), type=type
    )[0]
