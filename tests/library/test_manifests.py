"""The template renderer is a pure function of plain values."""

from __future__ import annotations

import jinja2
import pulumi
import pytest

from library.manifests import MANIFESTS_DIR, render


def test_renders_plain_dicts():
    (ns,) = render("platform/Namespace.yaml.j2", ns="kubeflow")
    assert ns["kind"] == "Namespace" and ns["metadata"]["name"] == "kubeflow"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_refuses_outputs():
    with pytest.raises(TypeError, match="template input labels.a is a Pulumi Output"):
        render("seaweedfs/ServiceAccount.yaml.j2", ns="x", labels={"a": pulumi.Output.from_input("b")})


def test_missing_values_are_errors():
    with pytest.raises(jinja2.UndefinedError):
        render("platform/Namespace.yaml.j2")


def test_q_filter_quotes_exactly():
    (secret,) = render(
        "profiles/Namespace.yaml.j2",
        ns="t",
        owner='a"b: c#d@x.io',
        profile="profiles/it's: #1.yaml",
        adopt=False,
        description="",
        pod_security="baseline",
        labels={"x/y": "true"},
    )
    assert secret["metadata"]["annotations"]["owner"] == 'a"b: c#d@x.io'
    assert secret["metadata"]["annotations"]["mlplatform.io/profile"] == "profiles/it's: #1.yaml"
    assert secret["metadata"]["labels"]["x/y"] == "true"


def test_one_kind_per_template_named_after_it():
    for path in MANIFESTS_DIR.rglob("*.yaml.j2"):
        kind = path.name.removesuffix(".yaml.j2")
        text = path.read_text()
        assert f"kind: {kind}\n" in text, path
        kinds = {line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("kind:")}
        assert kinds == {kind}, path
