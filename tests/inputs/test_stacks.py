"""Stack layout settings: one stack, or the platform's stack plus one per team."""

from __future__ import annotations

import pytest

from inputs import settings
from inputs.errors import InputError
from inputs.stacks import team_stack


def load(stack: str = "dev", **raw):
    return settings.load({f"mlplatform:{k}": v for k, v in raw.items()}, f"Pulumi.{stack}.yaml", stack=stack)


def test_one_stack_by_default():
    layout = load().layout
    assert not layout.team_stacks and layout.platform_part and layout.platform_stack == "dev"


def test_the_platform_stack_of_a_split_platform():
    layout = load(teamStacks="true").layout
    assert layout.team_stacks and layout.platform_part and layout.team == ""


def test_a_team_stack():
    layout = load("dev.nlp", teamStacks="true", team="nlp", platformStack="dev").layout
    assert not layout.platform_part and layout.team == "nlp" and layout.platform_stack == "dev"
    assert team_stack("dev", "nlp") == "dev.nlp"


def test_a_team_without_team_stacks_is_refused():
    with pytest.raises(InputError) as caught:
        load(team="nlp", platformStack="dev")
    assert "mlplatform:team" in str(caught.value) and "mlplatform:teamStacks: true" in str(caught.value)


def test_a_team_stack_must_name_its_platform_stack():
    with pytest.raises(InputError) as caught:
        load("dev.nlp", teamStacks="true", team="nlp")
    assert "mlplatform:platformStack" in str(caught.value)


def test_a_bad_team_name_is_refused():
    with pytest.raises(InputError) as caught:
        load("dev.x", teamStacks="true", team="Not A Team", platformStack="dev")
    assert "mlplatform:team" in str(caught.value)


def test_the_platform_stack_cannot_point_elsewhere():
    with pytest.raises(InputError) as caught:
        load(platformStack="other")
    assert "mlplatform:platformStack" in str(caught.value)
