"""Distributions: interchangeable providers of the platform's backing services."""

from __future__ import annotations

import importlib

from components.settings import Distribution
from distributions.base import BackingServices

_MODULES = {
    Distribution.VANILLA: "distributions.vanilla:Vanilla",
    Distribution.AWS: "distributions.aws:Aws",
    Distribution.AZURE: "distributions.azure:Azure",
}


def select(distribution: Distribution) -> type[BackingServices]:
    """The BackingServices component class of `distribution` (imported only when chosen)."""
    module, _, cls = _MODULES[distribution].partition(":")
    return getattr(importlib.import_module(module), cls)
