"""Platform: the whole installation, composed from the distribution and the list of components.

`validate` and `build` are the program behind `pulumi up`, shared by __main__.py, the render tool,
the benchmarks and the tests, so all of them run exactly what `pulumi up` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

import distributions
from components import profiles
from components.dashboard import Dashboard
from components.frontdoor import FrontDoor
from components.metadata import Metadata
from components.notebooks import Notebooks
from components.pipelines import Pipelines
from components.profiles import Profile, ProfileArgs
from components.serving import Serving
from components.signin import SignIn
from components.tracking import Tracking
from components.training import Training
from components.tuning import Tuning
from components.workflows import Workflows
from distributions.base import DistributionArgs
from inputs import settings as settings_module
from inputs.errors import InputError
from inputs.profile import TeamSpec
from inputs.settings import PROJECT_DIR, Settings
from inputs.teams import load_profiles
from library import k8s
from library.context import Component, Needs, PlatformContext, Shared, TeamContext
from library.images import catalog
from library.manifests import render
from library.network import Endpoint, TeamNetwork, endpoint_cidrs, store_port
from library.services import ObjectStore
from library.sizing import Sizing

COMPONENTS: tuple[type[Component], ...] = (
    SignIn,
    Workflows,
    Pipelines,
    Metadata,
    Tracking,
    Training,
    Notebooks,
    Tuning,
    Serving,
    Dashboard,
    FrontDoor,
)
"""Every capability, in the order they are built: a component may use those listed before it.
Adding one means a module in components/, a folder in manifests/ and a line here. The front door
comes after every component whose routes it serves."""

PLATFORM_NAMESPACE = "kubeflow"
"""Namespace of the platform's services (the name Kubeflow clients expect, e.g. ml-pipeline.kubeflow)."""
PLATFORM_NAMESPACES = (PLATFORM_NAMESPACE, *(ns for component in COMPONENTS for ns in component.namespaces))
"""Every namespace the platform itself uses; no team may take one of these names."""


@dataclass(frozen=True)
class PlatformArgs:
    """Inputs of the whole platform."""

    settings: Settings
    """Validated stack settings."""
    teams: Sequence[TeamSpec]
    """Every validated team profile (the stack's layout decides which of them it registers)."""


class Platform(pulumi.ComponentResource):
    """The machine-learning platform: backing services, one Profile per team, then every component."""

    namespace: pulumi.Output[str]
    """The platform namespace."""
    team_namespaces: pulumi.Output[list[str]]
    """Namespaces of all teams, sorted."""
    components: dict[type, pulumi.ComponentResource]
    """The components built, by class."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Platform", name, None, opts)
        settings = args.settings
        layout = settings.layout
        # The teams this stack registers: all of them in one stack; none in the platform's stack when teams
        # have stacks of their own (components still see every profile, `Shared.profiles`); its own in a
        # team's stack.
        if layout.team:
            teams = tuple(t for t in args.teams if t.name == layout.team)
        else:
            teams = () if layout.team_stacks else tuple(args.teams)
        # A team's stack (layout.team) holds that team's part of each component, nothing of the platform's.
        part = layout.platform_part
        enabled = [(c, needs) for c in COMPONENTS if (needs := c.needs(settings)) is not None]
        every_needs = [Profile.needs(), *(needs for _, needs in enabled)]
        if not part:
            enabled = [(c, needs) for c, needs in enabled if c.per_team]

        namespace, team_prerequisites, reference = None, [], None
        if part:
            base = k8s.apply(
                [
                    *render("platform/Namespace.yaml.j2", ns=PLATFORM_NAMESPACE),
                    *profiles.cluster_objects(),
                    *render("platform/NetworkPolicy.yaml.j2", ns=PLATFORM_NAMESPACE),
                ],
                name,
                self,
                # The platform namespace holds the in-cluster databases' volumes: never deleted by Pulumi.
                options=lambda o: pulumi.ResourceOptions(retain_on_delete=True) if o["kind"] == "Namespace" else None,
            )
            namespace = base[("Namespace", "", PLATFORM_NAMESPACE)]
            team_prerequisites = [r for (kind, _, _), r in base.items() if kind != "Namespace"]
        else:
            reference = pulumi.StackReference(
                f"{name}-platform",
                f"organization/{pulumi.get_project()}/{layout.platform_stack}",
                opts=pulumi.ResourceOptions(parent=self),
            )

        context = PlatformContext(
            namespace=PLATFORM_NAMESPACE,
            namespace_resource=namespace,
            sizing=Sizing(settings.size.value),
            images=catalog(settings.image_registry),
            stack=layout.platform_stack,
        )
        backing = distributions.select(settings.distribution)(
            f"{name}-{settings.distribution.value}",
            DistributionArgs(
                platform=context,
                teams=teams,
                backing=settings.backing,
                # Who reaches the object store, for distributions that grant it by workload identity.
                platform_accounts=tuple(a for needs in every_needs for a in needs.store_accounts),
                platform_part=part,
                platform_outputs=reference,
                team_accounts={
                    t.name: [
                        (account.namespace or t.namespace, account.name)
                        for needs in every_needs
                        for account in needs.team_store_accounts(t)
                    ]
                    for t in teams
                },
            ),
            pulumi.ResourceOptions(parent=self),
        )

        own_namespaces = {}
        for component, _ in enabled if part else ():
            for ns in component.namespaces:
                created = k8s.apply(
                    [
                        *render("platform/Namespace.yaml.j2", ns=ns),
                        *render("platform/NetworkPolicy.yaml.j2", ns=ns),
                    ],
                    f"{name}-{component.slug}",
                    self,
                )
                own_namespaces[ns] = created[("Namespace", "", ns)]

        api_cidrs = self._api_cidrs(name, settings)
        network = self._team_network(backing.object_store, every_needs, api_cidrs)
        team_labels = {k: v for needs in every_needs for k, v in needs.team_labels.items()}
        self.profiles = {
            team.name: Profile(
                f"{name}-team-{team.name}",
                ProfileArgs(
                    team=team,
                    network=network(team),
                    platform_namespace=namespace,
                    access=backing.team_access[team.name],
                    labels=team_labels,
                    depends_on=team_prerequisites,
                ),
                pulumi.ResourceOptions(parent=self),
            )
            for team in teams
        }

        shared = Shared(
            platform=context,
            settings=settings,
            database=backing.database,
            object_store=backing.object_store,
            store_account_annotations=backing.platform_account_annotations,
            ready=tuple(backing.ready),
            teams=tuple(
                TeamContext(
                    spec=t, namespace=self.profiles[t.name].namespace_resource, access=backing.team_access[t.name]
                )
                for t in teams
            ),
            namespaces=own_namespaces,
            needs=tuple(every_needs),
            profiles=tuple(args.teams),
            platform_part=part,
            api_cidrs=api_cidrs,
        )
        for component, _ in enabled:
            shared.built[component] = component.build(
                f"{name}-{component.slug}", shared, pulumi.ResourceOptions(parent=self)
            )
        self.components = shared.built

        self.database_host = pulumi.Output.from_input(backing.database.host)
        self.exports = dict(backing.exports)
        self.namespace = pulumi.Output.from_input(PLATFORM_NAMESPACE)
        self.team_namespaces = pulumi.Output.from_input(sorted(t.namespace for t in teams))
        self.register_outputs({"namespace": self.namespace, "team_namespaces": self.team_namespaces})

    def _api_cidrs(self, name: str, settings: Settings) -> pulumi.Input[list[str]]:
        """The addresses pods reach the API server at (and it calls webhooks from): mlplatform:kubernetesApiCidrs,
        or those the API server itself publishes."""
        if settings.kubernetes_api_cidrs:
            return list(settings.kubernetes_api_cidrs)
        api = kubernetes.discovery.v1.EndpointSlice.get(
            f"{name}-kubernetes-api", "default/kubernetes", opts=pulumi.ResourceOptions(parent=self)
        )
        return api.endpoints.apply(endpoint_cidrs)

    def _team_network(
        self, store: ObjectStore, every_needs: Sequence[Needs], api_cidrs: pulumi.Input[list[str]]
    ) -> Callable[[TeamSpec], TeamNetwork]:
        """Per team, what its pods may reach: the components' endpoints in the platform namespace, an
        in-cluster store, then the endpoints in the components' own namespaces; and the API server."""

        def network(team: TeamSpec) -> TeamNetwork:
            endpoints: list[Endpoint] = [e for needs in every_needs for e in needs.team_endpoints(team)]
            return TeamNetwork(
                platform_namespace=PLATFORM_NAMESPACE,
                endpoints=(
                    *(e for e in endpoints if e.namespace is None),
                    *([store.in_cluster] if store.in_cluster else []),
                    *(e for e in endpoints if e.namespace is not None),
                ),
                api_cidrs=api_cidrs,
                public_ports=() if store.in_cluster else (store_port(store.endpoint, store.secure),),
                gateway_apps=tuple(
                    sorted(
                        {
                            (r.by_name.pod_label, r.by_name.pod_port)
                            for needs in every_needs
                            for r in needs.team_routes(team)
                            if r.by_name is not None
                        }
                    )
                ),
            )

        return network


def validate(
    config: Mapping[str, object], stack: str, secret_keys: frozenset[str] = frozenset()
) -> tuple[Settings, list[TeamSpec]]:
    """Settings and every team profile, or InputError/InputErrors before anything is registered.

    Every profile is validated in every stack (the Platform decides which teams this stack registers);
    a team's stack whose profile is gone is refused.
    """
    source = f"Pulumi.{stack}.yaml"
    settings = settings_module.load(
        config, source, secret_keys=secret_keys, stack=stack, stack_file=PROJECT_DIR / source
    )
    teams = load_profiles(settings.profiles_dir, frozenset(PLATFORM_NAMESPACES), relative_to=PROJECT_DIR)
    layout = settings.layout
    if layout.team and not any(t.name == layout.team for t in teams):
        raise InputError(
            source,
            "mlplatform:team",
            layout.team,
            f"has no profile in {settings.profiles_dir}",
            "the name of a team profile (`python -m tools.stacks up` removes the stack of a team without one)",
        )
    return settings, teams


def build(settings: Settings, teams: list[TeamSpec]) -> Platform:
    """Register the platform (must run inside a Pulumi program or mocks)."""
    return Platform("mlplatform", PlatformArgs(settings=settings, teams=teams))
