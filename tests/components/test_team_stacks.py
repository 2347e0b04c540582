"""Team stacks: the platform's stack and every team's stack together register exactly what one stack
registers, with the same inputs and options, so stacks can be split (tools.stacks migrate) with no change."""

from __future__ import annotations

import json

import pytest

import tools.evaluate as evaluate
from inputs.errors import InputError
from tools.render import stack_config
from tools.stacks import _key

TEAMS = ("nlp", "vision", "forecasting")


def split(stack: str, config: dict, secret: frozenset[str]) -> tuple[list, dict[str, list]]:
    plat = evaluate.run_platform({**config, "mlplatform:teamStacks": "true"}, stack, secret)
    teams = {
        t: evaluate.run_platform(
            {**config, "mlplatform:teamStacks": "true", "mlplatform:team": t, "mlplatform:platformStack": stack},
            f"{stack}.{t}",
            secret,
        )
        for t in TEAMS
    }
    return plat, teams


def as_platform_stack_would(full: list) -> None:
    """Point the mocked platform-stack read at what the platform stack computes under the same mocks."""
    for r in full:
        if r.type == "aws:rds/instance:Instance":
            evaluate.STACK_OUTPUTS["databaseHost"] = f"{r.inputs['identifier']}.mock.rds.amazonaws.com"
        if r.type == "azure-native:dbformysql:Server":
            evaluate.STACK_OUTPUTS["databaseHost"] = f"{r.inputs['serverName']}.mysql.database.azure.com"
        if r.type == "azure-native:authorization:RoleDefinition":
            evaluate.STACK_OUTPUTS["teamBlobRoleId"] = f"{r.name}-id"
        if r.type == "azure-native:storage:BlobContainer" and r.name.endswith("-teams"):
            evaluate.STACK_OUTPUTS["teamsContainerId"] = f"{r.name}-id"


@pytest.mark.parametrize("stack", ["vanilla", "aws", "azure"])
def test_split_stacks_register_exactly_the_single_stack(stack, monkeypatch):
    monkeypatch.setattr(evaluate.secrets, "choice", lambda seq: seq[0])
    monkeypatch.setattr(evaluate.secrets, "token_urlsafe", lambda n: "k" * n)
    monkeypatch.setattr(evaluate, "STACK_OUTPUTS", dict(evaluate.STACK_OUTPUTS))
    config, secret = stack_config(stack)
    full = evaluate.run_platform(config, stack, secret)
    as_platform_stack_would(full)
    plat, teams = split(stack, config, secret)
    single = {_key(r.urn): r for r in full}
    platform = {_key(r.urn): r for r in plat}
    # the platform's stack holds nothing of any team
    assert not [k for k in platform if any(t in k for t in TEAMS)]
    together: dict = dict(platform)
    for team, registrations in teams.items():
        own = {_key(r.urn): r for r in registrations}
        custom = [k for k, r in own.items() if r.custom and k not in platform]
        assert custom and all(team in k for k in custom), team  # each team stack holds only its team
        for key, registration in own.items():
            together.setdefault(key, registration)
    assert set(together) == set(single)
    for key, registration in single.items():
        other = together[key]
        assert json.dumps(evaluate.reveal(other.inputs), sort_keys=True) == json.dumps(
            evaluate.reveal(registration.inputs), sort_keys=True
        ), key
        assert (other.retain_on_delete, other.protect) == (registration.retain_on_delete, registration.protect), key


def test_a_team_stack_without_a_profile_is_refused():
    config, secret = stack_config("vanilla")
    config = {**config, "mlplatform:teamStacks": "true", "mlplatform:team": "ghost", "mlplatform:platformStack": "x"}
    with pytest.raises(InputError) as caught:
        evaluate.run_platform(config, "x.ghost", secret)
    assert "mlplatform:team" in str(caught.value) and "no profile" in str(caught.value)
