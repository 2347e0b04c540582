"""Images: pinned in one place, every reference rewritten by the registry override."""

from __future__ import annotations

import re

import pytest

from library import images


@pytest.mark.parametrize(
    ("reference", "registry", "expected"),
    [
        ("docker.io/library/mysql:8.4", "", "docker.io/library/mysql:8.4"),
        ("docker.io/library/mysql:8.4", "reg.internal:5000/mirror", "reg.internal:5000/mirror/library/mysql:8.4"),
        ("mysql:8.4", "reg.internal", "reg.internal/library/mysql:8.4"),
        ("chrislusf/seaweedfs:4.00", "reg.internal", "reg.internal/chrislusf/seaweedfs:4.00"),
        ("ghcr.io/kubeflow/kfp-api-server:2.16.0", "m.io/x/", "m.io/x/kubeflow/kfp-api-server:2.16.0"),
        ("localhost:5000/a/b:1", "m.io", "m.io/a/b:1"),
    ],
)
def test_rewrite(reference, registry, expected):
    assert images.rewrite(reference, registry) == expected


def test_every_image_is_pinned_with_an_explicit_registry():
    for name, reference in images.catalog().items():
        assert re.fullmatch(r"[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})", reference), (
            name
        )
        assert not reference.endswith(":latest"), name


# Projects whose releases are numbered with two parts (SeaweedFS: 3.80, 4.00, ...; NVIDIA's Triton containers:
# year.month, 23.05); every other tag names a full major.minor.patch release, so that a series tag
# (`mysql:8.4`) that moves with each patch cannot slip in.
TWO_PART_RELEASES = {"seaweedfs", "kserve-tritonserver"}


def test_every_tag_names_one_release_not_a_series():
    for name, reference in images.catalog().items():
        if "@sha256:" in reference:
            continue
        tag = reference.rsplit(":", 1)[1]
        parts = 2 if name in TWO_PART_RELEASES else 3
        assert re.match(rf"v?[0-9]+(\.[0-9]+){{{parts - 1}}}([-.].*)?$", tag), (name, reference)


def test_catalog_applies_the_override_to_every_image():
    mirrored = images.catalog("mirror.example.com")
    assert mirrored.keys() == images.catalog().keys()
    assert all(ref.startswith("mirror.example.com/") for ref in mirrored.values())
