"""What every component is given about the platform and its teams, and what it declares it needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, TypeVar

import pulumi

from inputs.profile import TeamSpec
from inputs.settings import Settings
from library.network import Endpoint
from library.routes import Route
from library.services import Database, ObjectStore, TeamAccess
from library.sizing import Sizing


@dataclass(frozen=True)
class PlatformContext:
    """The platform namespace, sizing tier and image catalog, shared by all components."""

    namespace: str
    """Name of the platform namespace."""
    namespace_resource: pulumi.Resource | None
    """The platform Namespace; every object placed in it depends on it. None in a team's stack, where
    the Namespace is the platform stack's (which `tools.stacks` applies first)."""
    sizing: Sizing
    """Requests, limits and volume sizes of the stack's size."""
    images: Mapping[str, str]
    """Pinned images by short name, after the registry override."""
    stack: str = ""
    """The platform stack's name (what cloud resource names derived from the stack use, in every stack)."""


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
        """The team's name."""
        return self.spec.name


@dataclass(frozen=True)
class StoreAccount:
    """A ServiceAccount that acts on the object store, for the platform or for one team on its prefix."""

    name: str
    """The ServiceAccount's name."""
    namespace: str | None = None
    """Its namespace: None for the platform namespace (platform accounts) or the team's (team accounts)."""


def _nothing(team: TeamSpec) -> tuple:
    return ()


@dataclass(frozen=True)
class Needs:
    """What a component needs from the platform and from every team, declared before anything is built.

    The Platform gathers these from its list of components (it never reads a component's constants):
    it labels every team namespace, grants object-store identity to the
    accounts and opens each team's egress to the endpoints.
    """

    store_accounts: tuple[str, ...] = ()
    """ServiceAccounts of the platform namespace that read and write the whole bucket."""
    team_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels every team namespace carries for this component."""
    team_store_accounts: Callable[[TeamSpec], tuple[StoreAccount, ...]] = _nothing
    """Per team, the ServiceAccounts that act for it on its prefix."""
    team_endpoints: Callable[[TeamSpec], tuple[Endpoint, ...]] = _nothing
    """Per team, the component's services the team's pods may reach."""
    routes: tuple[Route, ...] = ()
    """Paths of the platform's web address the component serves (the front door routes them)."""
    team_routes: Callable[[TeamSpec], tuple[Route, ...]] = _nothing
    """Per team, paths only that team's members may use (its MLflow UI, notebooks, models)."""


C = TypeVar("C", bound=pulumi.ComponentResource)


@dataclass
class Shared:
    """What the Platform hands every component it builds: the backing services, the teams, and the
    components built before it (a component may use any of those)."""

    platform: PlatformContext
    """The platform namespace, sizing and images."""
    settings: Settings
    """The validated stack settings."""
    database: Database
    """The distribution's MySQL server."""
    object_store: ObjectStore
    """The distribution's artifact store."""
    store_account_annotations: Mapping[str, pulumi.Input[str]]
    """Workload identity annotations of the platform's store accounts (empty when the store uses keys)."""
    ready: tuple[pulumi.Resource, ...]
    """The backing services and their Secrets, to wait for."""
    teams: tuple[TeamContext, ...]
    """Every team, with its namespace and object-store access."""
    namespaces: Mapping[str, pulumi.Resource]
    """The components' own namespaces (Component.namespaces), by name (none in a team's stack)."""
    platform_part: bool = True
    """Whether this stack holds the platform's own objects (False in a team's stack)."""
    needs: tuple[Needs, ...] = ()
    """What every component that is on needs (the front door builds its routes from them)."""
    profiles: tuple[TeamSpec, ...] = ()
    """Every team's profile, also in the platform's stack when teams have stacks of their own (for the
    few platform objects that serve every team, such as the front door's routes)."""
    api_cidrs: pulumi.Input[Sequence[str]] = ()
    """Addresses of the Kubernetes API server's endpoints (`mlplatform:kubernetesApiCidrs` or the
    `default/kubernetes` EndpointSlice): the source a webhook's NetworkPolicy admits."""
    built: dict[type, pulumi.ComponentResource] = field(default_factory=dict)
    """Components built so far, by class."""

    def component(self, cls: type[C]) -> C:
        """The component of class `cls`, which must come earlier in the list of components."""
        found = self.built.get(cls)
        if not isinstance(found, cls):
            raise LookupError(f"{cls.__name__} is not built yet: list it before the components that use it")
        return found


class Component(Protocol):
    """What the Platform knows about a component class: its name, its needs, how it is built."""

    slug: ClassVar[str]
    """Short name: the component's resource name is `<platform>-<slug>`."""
    namespaces: ClassVar[tuple[str, ...]]
    """Namespaces of its own besides the platform namespace: the Platform creates each (deny-by-default)
    when the component is on, and no team may take their names even when it is off."""
    per_team: ClassVar[bool]
    """Whether it creates objects for each team (then a team's stack builds it too, with only those)."""

    @classmethod
    def needs(cls, settings: Settings) -> Needs | None:
        """What it needs from the platform and every team; None when the settings turn it off."""
        ...

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> pulumi.ComponentResource:
        """The component, its Args made from `shared`."""
        ...
