"""Platform: the whole installation, composed from the distribution and the components.

`validate` and `build` are the program behind `pulumi up`, shared by __main__.py, the render tool,
the benchmarks and the tests, so all of them run exactly what `pulumi up` runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

import distributions
from components.metadata import GRPC_ENDPOINT as METADATA_ENDPOINT
from components.metadata import Metadata, MetadataArgs
from components.pipelines import ARTIFACT_ACCOUNT, STORE_ACCOUNTS, Pipelines, PipelinesArgs
from components.pipelines import GATEWAY_ENDPOINT as PIPELINES_ENDPOINT
from components.pipelines import NAMESPACE_LABELS as PIPELINES_NAMESPACE_LABELS
from components.profiles import (
    ADOPT_ANNOTATION,
    EDITOR_ACCOUNT,
    EXPOSURES,
    PROFILE_ANNOTATION,
    TEAM_LABEL,
    Profile,
    ProfileArgs,
)
from components.tracking import NAMESPACE as TRACKING_NAMESPACE
from components.tracking import PORT as TRACKING_PORT
from components.tracking import Tracking, TrackingArgs
from components.tracking import server_name as tracking_server
from components.workflows import Workflows, WorkflowsArgs
from distributions.base import DistributionArgs
from inputs import settings as settings_module
from inputs.profile import TeamSpec
from inputs.settings import PROJECT_DIR, Settings
from inputs.teams import load_profiles
from library import k8s
from library.context import PlatformContext
from library.images import catalog
from library.manifests import render
from library.network import Endpoint, TeamNetwork, endpoint_cidrs, store_port
from library.sizing import Sizing

PLATFORM_NAMESPACE = "kubeflow"
"""Namespace of the platform's services (the name Kubeflow clients expect, e.g. ml-pipeline.kubeflow)."""
PLATFORM_NAMESPACES = (PLATFORM_NAMESPACE, TRACKING_NAMESPACE)
"""Every namespace the platform itself uses; no team may take one of these names."""


@dataclass(frozen=True)
class PlatformArgs:
    """Inputs of the whole platform."""

    settings: Settings
    """Validated stack settings."""
    teams: Sequence[TeamSpec]
    """Validated team profiles."""


class Platform(pulumi.ComponentResource):
    """The machine-learning platform: backing services, shared roles and one Profile per team."""

    namespace: pulumi.Output[str]
    """The platform namespace."""
    team_namespaces: pulumi.Output[list[str]]
    """Namespaces of all teams, sorted."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Platform", name, None, opts)
        settings = args.settings

        base = k8s.apply(
            [
                *render("platform/Namespace.yaml.j2", ns=PLATFORM_NAMESPACE),
                *render("platform/ClusterRole.yaml.j2"),
                *render(
                    "platform/ValidatingAdmissionPolicy.yaml.j2",
                    team_label=TEAM_LABEL,
                    adopt_annotation=ADOPT_ANNOTATION,
                    profile_annotation=PROFILE_ANNOTATION,
                    exposures=EXPOSURES,
                ),
                *render("platform/ValidatingAdmissionPolicyBinding.yaml.j2", team_label=TEAM_LABEL),
                *render("platform/NetworkPolicy.yaml.j2", ns=PLATFORM_NAMESPACE),
            ],
            name,
            self,
            # The platform namespace holds the in-cluster databases' volumes: never deleted by Pulumi.
            options=lambda obj: pulumi.ResourceOptions(retain_on_delete=True) if obj["kind"] == "Namespace" else None,
        )
        namespace = base[("Namespace", "", PLATFORM_NAMESPACE)]
        # What every team namespace needs first: the roles its bindings name, and the admission
        # policies that must be in force before a namespace is created or adopted.
        team_prerequisites = [r for (kind, _, _), r in base.items() if kind != "Namespace"]

        context = PlatformContext(
            namespace=PLATFORM_NAMESPACE,
            namespace_resource=namespace,
            sizing=Sizing(settings.size.value),
            images=catalog(settings.image_registry),
        )
        backing_class = distributions.select(settings.distribution)
        self.backing = backing_class(
            f"{name}-{settings.distribution.value}",
            DistributionArgs(
                platform=context,
                teams=tuple(args.teams),
                backing=settings.backing,
                # Who reaches the object store, for distributions that grant it by workload identity.
                platform_accounts=STORE_ACCOUNTS,
                team_accounts={
                    t.name: [(t.namespace, EDITOR_ACCOUNT), (t.namespace, ARTIFACT_ACCOUNT)]
                    + ([(TRACKING_NAMESPACE, tracking_server(t.name))] if settings.tracking else [])
                    for t in args.teams
                },
            ),
            pulumi.ResourceOptions(parent=self),
        )

        self.workflows = Workflows(
            f"{name}-workflows",
            WorkflowsArgs(platform=context, object_store=self.backing.object_store),
            pulumi.ResourceOptions(parent=self),
        )
        self.metadata = Metadata(
            f"{name}-metadata",
            MetadataArgs(platform=context, database=self.backing.database, depends_on=self.backing.ready),
            pulumi.ResourceOptions(parent=self),
        )

        store = self.backing.object_store
        shared = (PIPELINES_ENDPOINT, METADATA_ENDPOINT, *([store.in_cluster] if store.in_cluster else []))

        if settings.kubernetes_api_cidrs:
            api_cidrs: pulumi.Input[list[str]] = list(settings.kubernetes_api_cidrs)
        else:
            # The addresses pods reach the API server at, as the API server itself publishes them.
            api = kubernetes.discovery.v1.EndpointSlice.get(
                f"{name}-kubernetes-api", "default/kubernetes", opts=pulumi.ResourceOptions(parent=self)
            )
            api_cidrs = api.endpoints.apply(endpoint_cidrs)

        def network(team: TeamSpec) -> TeamNetwork:
            # The team's MLflow server, in the servers' own namespace, admits only its own team.
            server = k8s.workload_labels(tracking_server(team.name), "tracking")[0]
            tracking = (Endpoint("mlflow", server, (TRACKING_PORT,), namespace=TRACKING_NAMESPACE),)
            return TeamNetwork(
                platform_namespace=PLATFORM_NAMESPACE,
                endpoints=(*shared, *(tracking if settings.tracking else ())),
                api_cidrs=api_cidrs,
                public_ports=() if store.in_cluster else (store_port(store.endpoint, store.secure),),
            )

        self.profiles = {
            team.name: Profile(
                f"{name}-team-{team.name}",
                ProfileArgs(
                    team=team,
                    network=network(team),
                    platform_namespace=namespace,
                    access=self.backing.team_access[team.name],
                    labels=PIPELINES_NAMESPACE_LABELS,
                    depends_on=team_prerequisites,
                ),
                pulumi.ResourceOptions(parent=self),
            )
            for team in args.teams
        }

        team_namespaces = {t: p.namespace_resource for t, p in self.profiles.items()}
        self.pipelines = Pipelines(
            f"{name}-pipelines",
            PipelinesArgs(
                platform=context,
                database=self.backing.database,
                object_store=self.backing.object_store,
                metadata_host=self.metadata.grpc_service_host,
                envoy_host=self.metadata.envoy_service_host,
                teams=tuple(args.teams),
                team_access=self.backing.team_access,
                team_namespaces=team_namespaces,
                depends_on=[*self.backing.ready, *self.workflows.crds],
                store_account_annotations=self.backing.platform_account_annotations,
            ),
            pulumi.ResourceOptions(parent=self),
        )

        if settings.tracking:
            tracking_ns = k8s.apply(
                [
                    *render("platform/Namespace.yaml.j2", ns=TRACKING_NAMESPACE),
                    *render("platform/NetworkPolicy.yaml.j2", ns=TRACKING_NAMESPACE),
                ],
                f"{name}-tracking",
                self,
            )
            self.tracking = Tracking(
                f"{name}-tracking",
                TrackingArgs(
                    platform=context,
                    namespace=tracking_ns[("Namespace", "", TRACKING_NAMESPACE)],
                    database=self.backing.database,
                    object_store=self.backing.object_store,
                    teams=tuple(args.teams),
                    team_access=self.backing.team_access,
                    team_namespaces=team_namespaces,
                    depends_on=self.backing.ready,
                ),
                pulumi.ResourceOptions(parent=self),
            )

        self.namespace = pulumi.Output.from_input(PLATFORM_NAMESPACE)
        self.team_namespaces = pulumi.Output.from_input(sorted(t.namespace for t in args.teams))
        self.register_outputs({"namespace": self.namespace, "team_namespaces": self.team_namespaces})


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
