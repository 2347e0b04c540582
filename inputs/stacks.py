"""Stack layout: one stack for everything, or the platform's stack plus one stack per team."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inputs.reader import ConfigReader

_STACK = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_TEAM = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
TEAM_STACK_SEPARATOR = "."
"""A team's stack is `<platform stack>.<team>` (a dot never appears in a team name)."""


@dataclass(frozen=True)
class StackLayout:
    """Which part of the platform this stack holds."""

    team_stacks: bool
    """Teams live in stacks of their own."""
    team: str
    """The team this stack holds; empty for the platform's (or the single) stack."""
    platform_stack: str
    """The platform stack's name: names derived from the stack use it, team stacks read its outputs."""

    @property
    def platform_part(self) -> bool:
        """Whether this stack registers the platform's own objects."""
        return not self.team


def team_stack(platform_stack: str, team: str) -> str:
    """The name of `team`'s stack next to `platform_stack`."""
    return f"{platform_stack}{TEAM_STACK_SEPARATOR}{team}"


def parse(read: ConfigReader, stack: str) -> StackLayout:
    """The layout of stack `stack` from its `teamStacks`, `team` and `platformStack` settings."""
    team_stacks = read.flag("teamStacks")
    team = read.text("team")
    platform_stack = read.text("platformStack")
    if team:
        if not team_stacks:
            raise read.fail("team", team, "is set in a stack without team stacks", "mlplatform:teamStacks: true")
        read.matching("team", _TEAM, "a team name (a profile's `name`)", team)
        read.matching("platformStack", _STACK, "the name of the platform's stack", platform_stack)
    elif platform_stack and platform_stack != stack:
        raise read.fail(
            "platformStack", platform_stack, "is set in the platform's stack", "empty, or this stack's name"
        )
    return StackLayout(team_stacks=team_stacks, team=team, platform_stack=platform_stack or stack)
