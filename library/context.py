"""What every component is given about the platform it belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from library.sizing import Sizing


@dataclass(frozen=True)
class PlatformContext:
    """The platform namespace, sizing tier and image catalog, shared by all components."""

    namespace: str
    """Name of the platform namespace."""
    namespace_resource: pulumi.Resource
    """The platform Namespace; every object placed in it depends on it."""
    sizing: Sizing
    """Requests, limits and volume sizes of the stack's size."""
    images: Mapping[str, str]
    """Pinned images by short name, after the registry override."""
