"""The program entry point: component tree, outputs, and nothing registered on bad input."""

from __future__ import annotations

import runpy

import pulumi
import pytest

from inputs.settings import PROJECT_DIR
from tests.conftest import team, write_profiles
from tools.evaluate import run


def run_main(config: dict[str, str]):
    return run(lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py")) and None, config, stack="dev")


def test_component_tree(platform):
    types = {r.type for r in platform.registrations if not r.custom}
    assert types == {
        "mlplatform:index:Platform",
        "mlplatform:index:Vanilla",
        "mlplatform:index:Profile",
        "mlplatform:index:Workflows",
        "mlplatform:index:Notebooks",
        "mlplatform:index:Metadata",
        "mlplatform:index:Tracking",
        "mlplatform:index:Training",
        "mlplatform:index:Tuning",
        "mlplatform:index:Serving",
        "mlplatform:index:Pipelines",
        "mlplatform:index:SignIn",
        "mlplatform:index:Dashboard",
        "mlplatform:index:FrontDoor",
    }
    root = platform.components("mlplatform:index:Platform")[0]
    assert root.parent.endswith("pulumi:pulumi:Stack::mlplatform-test")
    for r in platform.registrations:
        if r is not root:
            assert r.parent, r.urn


def test_main_registers_the_platform():
    registrations = run_main({})
    assert any(r.type == "mlplatform:index:Platform" for r in registrations)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"mlplatform:distribution": "aws-ish"},
            "Pulumi.dev.yaml: key 'mlplatform:distribution': 'aws-ish' is not allowed",
        ),
        ({"mlplatform:colour": "blue"}, "Pulumi.dev.yaml: key 'mlplatform:colour': 'blue' is not a setting"),
    ],
)
def test_bad_config_stops_before_any_resource(config, message):
    registered = []

    def program():
        try:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"))
        except pulumi.RunError as error:
            registered.append(str(error))

    assert run(program, config, stack="dev") == []
    assert registered and registered[0].startswith(message)


def test_bad_profile_stops_before_any_resource(tmp_path):
    folder = write_profiles(
        tmp_path / "p", {"ok.yaml": team("alpha"), "bad.yaml": team("beta", quota={"cpu": "2 cores"})}
    )
    errors = []

    def program():
        try:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"))
        except pulumi.RunError as error:
            errors.append(str(error))

    assert run(program, {"mlplatform:profilesDir": str(folder)}, stack="dev") == []
    assert errors == [
        f"{folder}/bad.yaml: key 'quota.cpu': '2 cores' is not a quantity; allowed: "
        "a Kubernetes quantity such as 500m, 2, 1.5, 512Mi or 100Gi"
    ]
