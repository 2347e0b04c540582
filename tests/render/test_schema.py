"""Every rendered object is valid for Kubernetes 1.35, strictly (no unknown fields)."""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest

KUBERNETES_VERSION = "1.35.0"


@pytest.mark.parametrize("stack, size", [("vanilla", None), ("aws", None), ("azure", None), ("vanilla", "large")])
def test_every_object_passes_strict_schema_validation(stack, size):
    """The Kubernetes side of every committed example stack (at its own size), and of vanilla at size
    large (the only size with PodDisruptionBudgets)."""
    from tests.conftest import Platform
    from tools.evaluate import run_platform
    from tools.render import stack_config

    config, secret_keys = stack_config(stack)
    if size is not None:
        config = {**config, "mlplatform:size": size}
    platform = Platform(run_platform(config, stack, secret_keys))
    failures = []
    crds = custom_resource_schemas(platform)
    for registration in platform.objects:
        obj = registration.object
        if (obj["apiVersion"], obj["kind"]) in crds:
            failures += [
                f"{obj['kind']} {obj['metadata']['name']}: {'.'.join(map(str, e.path))}: {e.message}"
                for e in jsonschema.Draft7Validator(crds[obj["apiVersion"], obj["kind"]]).iter_errors(obj)
            ]
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(
                f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}: "
                f"{'.'.join(map(str, error.path))}: {error.message}"
            )
        except kubernetes_validate.SchemaNotFoundError:
            failures.append(f"{obj['apiVersion']} {obj['kind']}: no 1.35 schema (custom resources need a CRD test)")
    assert failures == []


def strict(schema: dict) -> dict:
    """A CRD's structural schema as JSON Schema that refuses the fields the API server would prune."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes")}
    if "properties" in schema:
        out["properties"] = {k: v if k == "metadata" else strict(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if "items" in schema:
        out["items"] = strict(schema["items"])
    return out


def custom_resource_schemas(platform) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> strict schema of every version the project's own CRDs serve."""
    return {
        (f"{crd.object['spec']['group']}/{version['name']}", crd.object["spec"]["names"]["kind"]): strict(
            version["schema"]["openAPIV3Schema"]
        )
        for crd in platform.of_kind("CustomResourceDefinition")
        for version in crd.object["spec"]["versions"]
        if version["served"]
    }


def test_custom_resource_validation_is_strict(platform):
    schemas = custom_resource_schemas(platform)
    (profile, *_) = [r.object for r in platform.of_kind("Profile")]
    jsonschema.validate(profile, schemas["kubeflow.org/v1", "Profile"])
    for bad in (
        {**profile, "spec": {**profile["spec"], "resourceQuotaSpec": {}}},  # not declared: the API server would drop it
        {**profile, "spec": {}},  # no owner
        {**profile, "spec": {"owner": {"kind": "Group", "name": "x"}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schemas["kubeflow.org/v1", "Profile"])


def test_validation_is_strict():
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "datta": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)
