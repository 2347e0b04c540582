"""The regions each cloud distribution may name, and what each offers (inputs/regions.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml


@cache
def regions() -> dict:
    """inputs/regions.yaml: AWS regions by partition, Azure locations and what they offer."""
    return yaml.safe_load((Path(__file__).parent / "regions.yaml").read_text())
