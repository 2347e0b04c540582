"""The program behind `pulumi up`: validate every input, then build the Platform.

Shared by __main__.py, the render tool, the benchmark and the tests, so all of them run
exactly what `pulumi up` runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from components import settings as settings_module
from components.platform import PLATFORM_NAMESPACES, Platform, PlatformArgs
from components.settings import PROJECT_DIR, Settings
from components.teams import TeamSpec, load_profiles


def validate(
    config: Mapping[str, object], stack: str, secret_keys: frozenset[str] = frozenset()
) -> tuple[Settings, list[TeamSpec]]:
    """Settings and teams of a stack, or InputError/InputErrors before anything is registered."""
    settings = settings_module.load(config, f"Pulumi.{stack}.yaml", secret_keys=secret_keys)
    teams = load_profiles(settings.profiles_dir, frozenset(PLATFORM_NAMESPACES), relative_to=PROJECT_DIR)
    return settings, teams


def build(settings: Settings, teams: list[TeamSpec]) -> Platform:
    """Register the platform (must run inside a Pulumi program or mocks)."""
    return Platform("mlplatform", PlatformArgs(settings=settings, teams=teams))
