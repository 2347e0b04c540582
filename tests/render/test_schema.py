"""Every rendered object is valid for Kubernetes 1.35, strictly (no unknown fields)."""

from __future__ import annotations

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
    for registration in platform.objects:
        obj = registration.object
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


def test_validation_is_strict():
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "datta": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES_VERSION, strict=True)
