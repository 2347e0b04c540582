"""The gateway's configuration, exactly as every example stack renders it, is accepted by the real Envoy
1.40.0 (`envoy --mode validate`: unknown fields, bad regexes, missing clusters all fail)."""

from __future__ import annotations

import pytest
import yaml

from library import gateway
from library.routes import GATEWAY_NAMESPACE
from tests.library.test_gateway import self_signed, validate


def rendered_config(config: dict, stack: str, secret_keys=frozenset()) -> str:
    from tests.conftest import Platform
    from tools.evaluate import run_platform

    platform = Platform(run_platform(config, stack, secret_keys))
    return platform.get("ConfigMap", "gateway", GATEWAY_NAMESPACE).object["data"]["envoy.yaml"]


@pytest.mark.parametrize("stack", ["vanilla", "aws", "azure"])
def test_every_stack_renders_a_configuration_envoy_accepts(stack, tmp_path):
    from tools.render import stack_config

    config, secret_keys = stack_config(stack)
    text = rendered_config(config, stack, secret_keys)
    result = validate(text, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    routes = yaml.safe_load(text)["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    assert routes["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]  # not an empty gateway


def test_the_load_balancer_entry_too(tmp_path):
    from tools.render import stack_config

    config, secret_keys = stack_config("vanilla")
    text = rendered_config({**config, "mlplatform:entry": "loadBalancer"}, "vanilla", secret_keys)
    # the certificate's mount path is the only thing replaced (the real files are the Secret's)
    assert text.count(gateway.TLS_DIR) == 3
    result = validate(text.replace(gateway.TLS_DIR, str(self_signed(tmp_path))), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
