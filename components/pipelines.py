"""Pipelines: Kubeflow Pipelines 2.16 (multi-user) on Argo, and its wiring into every team namespace."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import pulumi

from components import metadata
from components.workflows import Workflows
from inputs.settings import Settings
from library import envoy, k8s
from library.accounts import account_objects
from library.context import Needs, PlatformContext, Shared, StoreAccount, TeamContext
from library.manifests import render
from library.network import Endpoint
from library.object_store import (
    api_server_values,
    artifact_repository,
    frontend_environment,
    launcher_providers,
    pipeline_root,
)
from library.routes import Route, gateway_peer
from library.services import OBJECT_STORE_SECRET, Database, ObjectStore

PIPELINE_DATABASE = "mlpipeline"
"""The API server's schema (the name Kubeflow Pipelines uses)."""
NAMESPACE_LABELS = {"pipelines.kubeflow.org/enabled": "true"}
"""Labels Kubeflow Pipelines expects on a namespace it runs pipelines in."""
USERID_HEADER = "kubeflow-userid"
STORE_ACCOUNTS = ("ml-pipeline", "ml-pipeline-ui")
"""ServiceAccounts of the platform namespace that read and write the whole bucket."""
RUN_CREATORS = ("ml-pipeline", "ml-pipeline-scheduledworkflow")
"""ServiceAccounts that create runs' Workflows, the only ones allowed to set their `pipeline/runid` label (the
persistence agent only reads Workflows)."""
ARTIFACT_ACCOUNT = "ml-pipeline-ui-artifact"
"""ServiceAccount of the artifact server in each team namespace; it acts for the team on its prefix."""
GATEWAY_ENDPOINT = Endpoint("ml-pipeline", k8s.workload_labels("ml-pipeline-gateway", "pipelines")[0], (8888, 8887))
"""The API gateway (Service ml-pipeline, HTTP and gRPC): SDK clients, the v2 driver, artifact servers."""
UI_ROUTE = Route("/pipeline", "ml-pipeline-ui", None, 80, timeout_seconds=300)
"""The pipelines UI on the platform's address, as upstream routes it: `/pipeline`, path kept (the UI serves
under it), 300 s (kubeflow/manifests 26.03 applications/pipeline/upstream/base/installs/multi-user/
virtual-service.yaml)."""


def gateway_config(api_host: str) -> str:
    """Envoy configuration of the API gateway: HTTP :8888 and gRPC :8887 to the API server, with
    the user-id header removed so that callers can only authenticate with a Kubernetes token."""

    def listener(name: str, port: int, codec: str) -> dict:
        route = {"match": {"prefix": "/"}, "route": {"cluster": name, "timeout": "300s"}}
        return envoy.listener(name, port, [route], codec=codec, remove_headers=[USERID_HEADER])

    def cluster(name: str, port: int, http2: bool) -> dict:
        return envoy.cluster(name, api_host, port, connect_timeout="10s", http2=http2)

    return envoy.config(
        [listener("api_http", 8888, "AUTO"), listener("api_grpc", 8887, "HTTP2")],
        [cluster("api_http", 8888, False), cluster("api_grpc", 8887, True)],
    )


@dataclass(frozen=True)
class PipelinesArgs:
    """Inputs of Kubeflow Pipelines."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    database: Database
    """The distribution's MySQL server; the API server gets its own schema and account."""
    object_store: ObjectStore
    """Where pipeline packages and run artifacts go."""
    metadata_host: str
    """Host name of the ML Metadata gRPC service."""
    envoy_host: str
    """Host name of ML Metadata's gRPC-web proxy (for the UI)."""
    teams: Sequence[TeamContext]
    """The teams whose namespaces run pipelines (with their namespaces and object-store access)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Backing services and the workflow engine to wait for."""
    store_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations giving STORE_ACCOUNTS their workload identity (none when the store uses keys)."""
    platform_part: bool = True
    """Register the platform's own objects (False in a team's stack, which holds only the team's part)."""


class Pipelines(pulumi.ComponentResource):
    """Kubeflow Pipelines 2.16 in multi-user mode, and per team namespace the launcher, Argo
    artifact repository, ML Metadata address and artifact server that upstream's profile
    controller would create at run time."""

    api_url: str
    """The in-cluster URL SDK clients use (the gateway)."""

    slug: ClassVar[str] = "pipelines"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = True

    @classmethod
    def needs(cls, settings: Settings) -> Needs:
        """Team namespaces carry the label upstream's profile controller sets; the API server and UI read
        the whole bucket; each team's artifact server reads its prefix; team pods reach the gateway."""
        return Needs(
            store_accounts=STORE_ACCOUNTS,
            team_labels=NAMESPACE_LABELS,
            team_store_accounts=lambda team: (StoreAccount(ARTIFACT_ACCOUNT),),
            team_endpoints=lambda team: (GATEWAY_ENDPOINT,),
            routes=(UI_ROUTE,),
        )

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Pipelines:
        return cls(
            name,
            PipelinesArgs(
                platform=shared.platform,
                database=shared.database,
                object_store=shared.object_store,
                metadata_host=metadata.grpc_host(shared.platform.namespace),
                envoy_host=metadata.envoy_host(shared.platform.namespace),
                teams=shared.teams,
                depends_on=[*shared.ready, *(shared.component(Workflows).crds if shared.platform_part else [])],
                store_account_annotations=shared.store_account_annotations,
                platform_part=shared.platform_part,
            ),
            opts,
        )

    def __init__(self, name: str, args: PipelinesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Pipelines", name, None, opts)
        platform = args.platform
        ns = platform.namespace
        images = platform.images
        store = args.object_store
        gateway_host = f"ml-pipeline.{ns}.svc.cluster.local"
        api_host = f"ml-pipeline-api-server.{ns}.svc.cluster.local"

        def workload(workload_name: str, image: str, size: str) -> dict:
            selector, labels = k8s.workload_labels(workload_name, "pipelines")
            sized = platform.sizing.of(size)
            return {
                "name": workload_name,
                "selector": selector,
                "labels": labels,
                "image": images[image],
                "resources": sized.resources,
                "scratch": sized.scratch,
                "replicas": sized.replicas,
            }

        api = {
            **workload("ml-pipeline", "kfp-api-server", "ml-pipeline"),
            "driver_image": images["kfp-driver"],
            "launcher_image": images["kfp-launcher"],
        }
        config = gateway_config(api_host)
        gateway = {
            **workload("ml-pipeline-gateway", "kfp-metadata-envoy", "ml-pipeline-gateway"),
            "config": config,
            "config_digest": hashlib.sha256(config.encode()).hexdigest(),
        }
        ui = {
            **workload("ml-pipeline-ui", "kfp-frontend", "ml-pipeline-ui"),
            "store_env": frontend_environment(store, store.credentials_secret),
        }
        agent = workload("ml-pipeline-persistenceagent", "kfp-persistence-agent", "ml-pipeline-persistenceagent")
        swf = workload(
            "ml-pipeline-scheduledworkflow", "kfp-scheduled-workflow-controller", "ml-pipeline-scheduledworkflow"
        )

        if args.platform_part:
            account, setup = account_objects(
                "ml-pipeline", name, platform, args.database, [PIPELINE_DATABASE], api["labels"], self
            )
            ready = k8s.apply(
                setup, f"{name}-db", self, depends_on=[platform.namespace_resource], pods_wait_for=args.depends_on
            )
            names = [
                "ml-pipeline",
                "ml-pipeline-persistenceagent",
                "ml-pipeline-scheduledworkflow",
                "ml-pipeline-ui",
                "ml-pipeline-gateway",
            ]
            store_annotations = dict(args.store_account_annotations)
            accounts = render(
                "pipelines/ServiceAccount.yaml.j2",
                outputs={"annotations": store_annotations} if store_annotations else None,
                ns=ns,
                labels=api["labels"],
                accounts=names,
                store_accounts=list(STORE_ACCOUNTS),
            )
            common = {"ns": ns, "api": api, "gateway": gateway, "ui": ui, "front_door": gateway_peer()}
            # Only the stateless servers scale (manifests/sizes.yaml); a drain then keeps one pod of each.
            budgets = [w for w in (api, gateway, ui) if w["replicas"] > 1]
            run_label_policy = {
                "policy": "pipelines-run-label",
                "labels": api["labels"],
                "run_creators": [f"system:serviceaccount:{ns}:{account}" for account in RUN_CREATORS],
            }
            k8s.apply(
                [
                    *render("pipelines/CustomResourceDefinition.yaml.j2", labels=api["labels"]),
                    *accounts,
                    *render("pipelines/ClusterRole.yaml.j2", labels=api["labels"]),
                    *render("pipelines/ClusterRoleBinding.yaml.j2", ns=ns, labels=api["labels"]),
                    *render("pipelines/ConfigMap.yaml.j2", **common),
                    *render(
                        "pipelines/Deployment.yaml.j2",
                        agent=agent,
                        swf=swf,
                        db_secret=account.secret,
                        store=api_server_values(store),
                        metadata_host=args.metadata_host,
                        api_host=api_host,
                        envoy_host=args.envoy_host,
                        **common,
                    ),
                    *render("pipelines/Service.yaml.j2", **common),
                    *render("pipelines/PodDisruptionBudget.yaml.j2", ns=ns, budgets=budgets),
                    *render("pipelines/NetworkPolicy.yaml.j2", **common),
                    *render("pipelines/ValidatingAdmissionPolicy.yaml.j2", **run_label_policy),
                    *render("pipelines/ValidatingAdmissionPolicyBinding.yaml.j2", **run_label_policy),
                ],
                name,
                self,
                depends_on=[platform.namespace_resource],
                pods_wait_for=[*args.depends_on, *ready.values()],
            )

        artifact_size = platform.sizing.of("ml-pipeline-ui-artifact")
        for team_context in args.teams:
            team, access = team_context.spec, team_context.access
            secret = OBJECT_STORE_SECRET if access.access_key is not None else None
            selector, labels = k8s.workload_labels(ARTIFACT_ACCOUNT, "pipelines")
            team_ns = team.namespace
            account_values = {"ns": team_ns, "labels": labels, "account": ARTIFACT_ACCOUNT}
            annotations = dict(access.service_account_annotations)
            artifact_account = render(
                "pipelines-team/ServiceAccount.yaml.j2",
                outputs={"annotations": annotations} if annotations else None,
                **account_values,
            )
            # With keys, the artifact server reads them from the team's Secret (launcher `fromEnv: false`).
            secret_reader = (
                [
                    *render("pipelines-team/Role.yaml.j2", secret=secret, **account_values),
                    *render("pipelines-team/RoleBinding.yaml.j2", **account_values),
                ]
                if secret
                else []
            )
            k8s.apply(
                [
                    *artifact_account,
                    *secret_reader,
                    *render(
                        "pipelines-team/ConfigMap.yaml.j2",
                        ns=team_ns,
                        labels=labels,
                        pipeline_root=pipeline_root(store, access.prefix),
                        providers=launcher_providers(store, secret),
                        artifact_repository=artifact_repository(store, access.prefix, secret),
                        metadata_host=args.metadata_host,
                    ),
                    *render(
                        "pipelines-team/Deployment.yaml.j2",
                        ns=team_ns,
                        labels=labels,
                        selector=selector,
                        image=images["kfp-frontend"],
                        api_host=gateway_host,
                        store_env=frontend_environment(store, secret),
                        resources=artifact_size.resources,
                        scratch=artifact_size.scratch,
                        account=ARTIFACT_ACCOUNT,
                        reads_secret=secret is not None,
                    ),
                    *render("pipelines-team/Service.yaml.j2", ns=team_ns, labels=labels, selector=selector),
                    *render(
                        "pipelines-team/NetworkPolicy.yaml.j2",
                        ns=team_ns,
                        labels=labels,
                        selector=selector,
                        platform_namespace=ns,
                        ui_selector=ui["selector"],
                    ),
                ],
                f"{name}-{team.name}",
                self,
                depends_on=[team_context.namespace],
            )

        self.api_url = f"http://{gateway_host}:8888"
        self.register_outputs({"apiUrl": self.api_url})
