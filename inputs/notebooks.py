"""Notebook settings: whether idle notebooks are stopped, and when (the notebook controller's culling)."""

from __future__ import annotations

from dataclasses import dataclass

from inputs.reader import ConfigReader

MAX_IDLE_MINUTES = 43200
"""Thirty days: a longer idle time is culling turned off in all but name."""
MIN_IDLE_MINUTES = 10
"""Shorter would stop a notebook between two cells of someone reading its output."""


@dataclass(frozen=True)
class Culling:
    """The notebook controller's culling (ENABLE_CULLING, CULL_IDLE_TIME, IDLENESS_CHECK_PERIOD)."""

    enabled: bool = False
    """Whether idle notebooks are stopped."""
    idle_minutes: int = 1440
    """Minutes without kernel activity after which a notebook is stopped."""
    check_minutes: int = 1
    """How often the controller checks each notebook's kernels."""


def parse(read: ConfigReader) -> Culling:
    """The culling settings, or an InputError naming the key."""
    idle = read.integer("notebookIdleMinutes", MIN_IDLE_MINUTES, MAX_IDLE_MINUTES)
    check = read.integer("notebookIdleCheckMinutes", 1, MAX_IDLE_MINUTES)
    if check > idle:
        raise read.fail(
            "notebookIdleCheckMinutes",
            check,
            f"is longer than mlplatform:notebookIdleMinutes ({idle})",
            f"a whole number of minutes from 1 to {idle}",
        )
    return Culling(enabled=read.flag("notebookCulling"), idle_minutes=idle, check_minutes=check)
