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


def test_outputs_are_placed_where_the_template_marks_them():
    password = pulumi.Output.secret("p")
    (secret,) = render(
        "library/Secret.yaml.j2",
        outputs={"password": password, "port": "3306"},
        name="s",
        ns="n",
        labels={"a": "b"},
        keys=["password", "port"],
        type="Opaque",
    )
    assert secret["stringData"]["password"] is password
    assert secret["stringData"] == {"password": password, "port": "3306"}
    assert list(secret["stringData"]) == ["password", "port"]


def test_an_output_the_template_does_not_place_is_an_error():
    with pytest.raises(ValueError, match=r"does not place outputs \['other'\]"):
        render(
            "library/Secret.yaml.j2",
            outputs={"a": "1", "other": "2"},
            name="s",
            ns="n",
            labels={},
            keys=["a"],
            type="Opaque",
        )


def test_an_output_the_template_needs_but_is_not_given_is_an_error():
    with pytest.raises(KeyError, match="needs output 'b'"):
        render(
            "library/Secret.yaml.j2", outputs={"a": "1"}, name="s", ns="n", labels={}, keys=["a", "b"], type="Opaque"
        )


def test_optional_outputs_are_left_out_when_not_given():
    (account,) = render("tracking/ServiceAccount.yaml.j2", name="m", ns="n", labels={}, selector={}, team="t")
    assert "annotations" not in account["metadata"]
    role = pulumi.Output.from_input("arn:aws:iam::1:role/r")
    (account,) = render(
        "tracking/ServiceAccount.yaml.j2",
        outputs={"annotations": {"eks.amazonaws.com/role-arn": role}},
        name="m",
        ns="n",
        labels={},
        selector={},
        team="t",
    )
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] is role
