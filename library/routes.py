"""Routes: the paths of the platform's one web address, each declared by the component that owns it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    """One path on `mlplatform:host`, served by a Service of the platform (through the front door)."""

    prefix: str
    """Path prefix as upstream clients expect it (`/pipeline`, `/jupyter/`, `/dex/`, ...)."""
    service: str
    """Name of the Service that serves it."""
    namespace: str
    """Namespace of that Service."""
    port: int
    """Port of that Service."""
    rewrite: str | None = None
    """Prefix the path is rewritten to before it reaches the Service (None keeps the path)."""
    timeout_seconds: int = 60
    """Longest a request may take (0: no limit, for streams and websockets)."""
    sign_in: bool = True
    """False only for the sign-in flow itself (`/dex/`, `/oauth2/`): every other route needs a signed-in user."""
    team: str | None = None
    """A team's own route (its MLflow UI, notebooks, models): only members of that team pass the door."""
    websocket: bool = False
    """Whether the route carries websocket upgrades (notebooks, terminals)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra request headers set on the way in (e.g. `x-forwarded-prefix`)."""
