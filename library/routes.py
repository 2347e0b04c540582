"""Routes: the paths of the platform's one web address, each declared by the component that owns it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from library.k8s import workload_labels

GATEWAY_NAMESPACE = "kubeflow-gateway"
"""Namespace of the front door's gateway, the only workload that receives traffic from outside the cluster."""
GATEWAY_SELECTOR = workload_labels("gateway", "frontdoor")[0]
"""Labels of the gateway's pods: the one client every header-trusting app admits."""
USERID_HEADER = "kubeflow-userid"
"""The header Kubeflow's web apps read the signed-in user from (set only by the gateway)."""
GROUPS_HEADER = "kubeflow-groups"
"""The header carrying the signed-in user's groups (set only by the gateway)."""


def gateway_peer() -> dict:
    """A NetworkPolicy `from` entry naming the gateway's pods in their namespace (for apps behind the door)."""
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": GATEWAY_NAMESPACE}},
        "podSelector": {"matchLabels": dict(GATEWAY_SELECTOR)},
    }


@dataclass(frozen=True)
class ByName:
    """Apps a team's members create by name (notebooks, models): `<prefix><name>/...` goes to the Service
    `<name><service_suffix>` of the route's namespace (the team's), on the route's port (the path kept
    unless the route rewrites it).
    The name is one DNS label (no dot: the namespace is the route's, never the path's)."""

    pod_label: str
    """A label key the apps' pods carry (the notebook-controller sets `notebook-name`): in the team
    namespace, the gateway may open only pods with this label."""
    pod_port: int
    """The port those pods listen on (the Service's target port): the only one opened to the gateway."""
    service_suffix: str = ""
    """What the app's controller appends to the name to make its Service's (KServe: `-predictor`)."""


@dataclass(frozen=True)
class Route:
    """One path on `mlplatform:host`, served by a Service of the platform (through the front door)."""

    prefix: str
    """Path prefix as upstream clients expect it (`/pipeline`, `/jupyter/`, `/dex/`, ...)."""
    service: str
    """Name of the Service that serves it; on a `by_name` route, the kind of app (`notebook`), which names
    the gateway's cluster for every Service of that kind."""
    namespace: str | None
    """Namespace of that Service; None for the platform namespace (as for `library.network.Endpoint`)."""
    port: int
    """Port of that Service."""
    rewrite: str | None = None
    """Prefix the path is rewritten to before it reaches the Service (None keeps the path); on a `by_name`
    route it replaces the prefix and the name."""
    timeout_seconds: int = 60
    """Longest a request may take (0: no limit, for streams and websockets)."""
    sign_in: bool = True
    """False only for the sign-in flow itself (`/dex/`, `/oauth2/`): every other route needs a signed-in user."""
    team: str | None = None
    """A team's own route (its MLflow UI, notebooks, models): only members of that team pass the door."""
    roles: tuple[str, ...] = ("admin", "edit")
    """On a team route, the team roles (inputs.profile.ROLES) whose members pass: those whose Kubernetes role
    grants what the app lets a visitor do (the door's stand-in for a SubjectAccessReview)."""
    websocket: bool = False
    """Whether the route carries websocket upgrades (notebooks, terminals)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra request headers set on the way in (e.g. `x-forwarded-prefix`)."""
    by_name: ByName | None = None
    """Set on a route to apps named by the path segment after the prefix (Services created by users)."""
