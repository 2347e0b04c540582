"""What every component is given about the platform and its teams, and what it declares it needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pulumi

from inputs.teams import TeamSpec
from library.network import Endpoint
from library.services import TeamAccess
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


@dataclass(frozen=True)
class TeamContext:
    """Everything a component is given about one team."""

    spec: TeamSpec
    """The validated profile."""
    namespace: pulumi.Resource
    """The team's Namespace; every object placed in it depends on it."""
    access: TeamAccess
    """How the team's workloads reach the object store (its prefix, keys or workload identity)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def namespace_name(self) -> str:
        return self.spec.namespace


@dataclass(frozen=True)
class StoreAccount:
    """A ServiceAccount that acts on the object store: for the platform, or for one team on its prefix."""

    name: str
    """The ServiceAccount's name."""
    namespace: str | None = None
    """Its namespace; None for the team's own namespace (team needs) or the platform namespace."""


@dataclass(frozen=True)
class Needs:
    """What a component needs from the platform and from every team, declared before anything is built.

    The Platform gathers these from its list of components, so it never reads a component's constants:
    it gives each team namespace the labels, grants object-store identity to the accounts, and opens
    the team's egress to the endpoints.
    """

    namespaces: tuple[str, ...] = ()
    """Namespaces of the component's own besides the platform namespace (no team may take them); the
    Platform creates each, deny-by-default."""
    store_accounts: tuple[StoreAccount, ...] = ()
    """Platform ServiceAccounts that read and write the whole bucket."""
    team_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels every team namespace carries for this component."""
    team_store_accounts: Callable[[TeamSpec], tuple[StoreAccount, ...]] = lambda team: ()
    """Per team, the ServiceAccounts that act for it on its prefix."""
    team_endpoints: Callable[[TeamSpec], tuple[Endpoint, ...]] = lambda team: ()
    """Per team, the component's services the team's pods may reach."""
