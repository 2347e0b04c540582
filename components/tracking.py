"""Tracking: MLflow experiment tracking and model registry, one isolated server per team.

Why one server per team rather than one shared server: MLflow's own isolation (workspaces,
the Kubernetes auth plugin) is marked experimental upstream and ties the platform to one
MLflow minor series, while a server per team isolates by construction, with mechanisms the
platform already enforces: each server has its own database and account, object-store keys
that reach only the team's prefix, and a NetworkPolicy that admits only the team's namespace.
The servers run in a namespace of their own (`kubeflow-mlflow`),
neither in the platform namespace (team code talks to them directly) nor in the team's (whose
members could then reach the database and change the server). The price is one small pod per
team; `mlplatform:tracking` turns the component off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from inputs.settings import Settings
from library import k8s
from library.accounts import account_objects
from library.context import Needs, PlatformContext, Shared, StoreAccount, TeamContext
from library.manifests import render
from library.network import Endpoint
from library.object_store import boto_environment, s3_uri
from library.routes import Route, gateway_peer
from library.secrets import secret
from library.services import ACCESS_KEY, SECRET_KEY, Database, ObjectStore

PORT = 5000
NAMESPACE = "kubeflow-mlflow"
"""Where every team's tracking server runs: a namespace of its own, denying all ingress but each
server's own team."""


def server_name(team: str) -> str:
    """Name of a team's tracking server Deployment and Service."""
    return f"mlflow-{team}"


def tracking_uri(team: str, namespace: str) -> str:
    """The in-cluster URL of a team's tracking server."""
    return f"http://{server_name(team)}.{namespace}.svc.cluster.local:{PORT}"


def ui_prefix(team: str) -> str:
    """Where a team's MLflow UI is on the platform's address. The server serves its UI (and its `/health`)
    below this prefix (`--static-prefix`, mlflow/server/__init__.py `_add_static_prefix`, v3.10.1), while
    its REST API (`/api/2.0/...`, what team code calls in the cluster) stays at the root."""
    return f"/mlflow/{team}"


def ui_route(team: str) -> Route:
    """A team's MLflow UI through the front door: only its owner, admins and editors pass. MLflow has no
    permissions of its own (every visitor may change runs and models), so the door admits the roles that
    may already change the team's workloads: those whose Kubernetes role grants `create services/proxy` in
    the team namespace (kubeflow-edit and -admin; not kubeflow-view)."""
    return Route(f"{ui_prefix(team)}/", server_name(team), NAMESPACE, PORT, team=team, roles=("admin", "edit"))


def allowed_hosts(team: str, namespace: str, public_host: str) -> list[str]:
    """Host headers the server accepts (MLflow 3.10 answers 403 to any other): its in-cluster names (with
    and without port), a port-forward, and the platform's address, which the gateway passes on."""
    base = server_name(team)
    names = [base, f"{base}.{namespace}", f"{base}.{namespace}.svc", f"{base}.{namespace}.svc.cluster.local"]
    return [*names, *(f"{n}:{PORT}" for n in names), "localhost:*", "127.0.0.1:*", public_host, f"{public_host}:*"]


@dataclass(frozen=True)
class TrackingArgs:
    """Inputs of the tracking servers."""

    platform: PlatformContext
    """Platform namespace (where the database setup Jobs run), sizing and images."""
    namespace: pulumi.Resource | None
    """The servers' namespace (NAMESPACE); None in a team's stack (the platform stack's)."""
    database: Database
    """The distribution's MySQL server; each team's server gets its own schema and account."""
    object_store: ObjectStore
    """The artifact store; each server writes below its team's prefix."""
    teams: Sequence[TeamContext]
    """The teams to serve (their namespaces get the connection ConfigMap; their object-store access
    is the server's)."""
    public_host: str = "localhost"
    """`mlplatform:host`, where browsers reach each server's UI through the front door."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The backing services to wait for."""


class Tracking(pulumi.ComponentResource):
    """MLflow 3 tracking servers with model registry: `mlflow-<team>` in NAMESPACE, for each team.

    The server is stateless (runs and models are in MySQL, artifacts in the object store); its
    database setup Job runs in the platform namespace, the only place with the admin Secret.
    """

    uris: dict[str, str]
    """Each team's tracking URI."""

    slug: ClassVar[str] = "tracking"
    namespaces: ClassVar[tuple[str, ...]] = (NAMESPACE,)
    per_team: ClassVar[bool] = True

    @classmethod
    def needs(cls, settings: Settings) -> Needs | None:
        """The servers' own namespace; each team's server acts on its prefix, and the team reaches it."""
        if not settings.tracking:
            return None
        return Needs(
            team_store_accounts=lambda team: (StoreAccount(server_name(team.name), NAMESPACE),),
            team_endpoints=lambda team: (
                Endpoint("mlflow", k8s.workload_labels(server_name(team.name), "tracking")[0], (PORT,), NAMESPACE),
            ),
            team_routes=lambda team: (ui_route(team.name),),
        )

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Tracking:
        return cls(
            name,
            TrackingArgs(
                platform=shared.platform,
                namespace=shared.namespaces.get(NAMESPACE),
                database=shared.database,
                object_store=shared.object_store,
                teams=shared.teams,
                public_host=shared.settings.host,
                depends_on=shared.ready,
            ),
            opts,
        )

    def __init__(self, name: str, args: TrackingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Tracking", name, None, opts)
        platform = args.platform
        store = args.object_store
        self.uris = {}
        ns = NAMESPACE
        for team_context in args.teams:
            team, access = team_context.spec, team_context.access
            server = server_name(team.name)
            selector, labels = k8s.workload_labels(server, "tracking")
            labels = {**labels, "mlplatform.io/team": team.name}
            common = {"name": server, "ns": ns, "labels": labels, "selector": selector, "team": team.name}
            database = "mlflow_" + team.name.replace("-", "_")
            account, setup = account_objects(
                server, f"{name}-{team.name}", platform, args.database, [database], labels, self, client_namespace=ns
            )
            ready = k8s.apply(
                setup,
                f"{name}-{team.name}-db",
                self,
                depends_on=[platform.namespace_resource],
                pods_wait_for=args.depends_on,
            )
            # The server's own copy of its account, in its namespace (a pod reads Secrets of its namespace only).
            credentials = secret(account.secret, ns, labels, account.values)
            keys = access.access_key is not None and access.secret_key is not None
            annotations = {} if keys else dict(access.service_account_annotations)
            objects = [
                *render(
                    "tracking/ServiceAccount.yaml.j2",
                    outputs={"annotations": annotations} if annotations else None,
                    **common,
                ),
                credentials,
            ]
            s3_secret = None
            if keys:
                # The team's own keys (limited to its prefix), copied next to the server.
                s3_secret = f"{server}-object-store"
                objects.append(
                    secret(s3_secret, ns, labels, {ACCESS_KEY: access.access_key, SECRET_KEY: access.secret_key})
                )
            env = [
                {"name": "HOME", "value": "/tmp"},
                *(
                    {"name": var, "valueFrom": {"secretKeyRef": {"name": account.secret, "key": key}}}
                    for var, key in (
                        ("DB_HOST", "host"),
                        ("DB_PORT", "port"),
                        ("DB_NAME", "database"),
                        ("DB_USER", "username"),
                        ("DB_PASSWORD", "password"),
                    )
                ),
                {
                    # `mlflow server` reads its --backend-store-uri from here (mlflow/cli/__init__.py, v3.10.1):
                    # the password stays out of every process's arguments.
                    "name": "MLFLOW_BACKEND_STORE_URI",
                    "value": "mysql+pymysql://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)",
                },
                *boto_environment(store, s3_secret),
            ]
            objects += [
                *render(
                    "tracking/Deployment.yaml.j2",
                    image=platform.images["mlflow"],
                    env=env,
                    artifacts_destination=s3_uri(store, access.prefix, "mlflow"),
                    allowed_hosts=allowed_hosts(team.name, ns, args.public_host),
                    # The page's origin, for MLflow's CORS check. It guards only /api/ and /ajax-api/ at
                    # the root (3.10.1, run here), not the UI's calls below --static-prefix: cross-site
                    # requests there are stopped at the front door (its session cookie), not here.
                    origin=f"https://{args.public_host}",
                    probe_host=f"localhost:{PORT}",
                    prefix=ui_prefix(team.name),
                    resources=platform.sizing.of("mlflow").resources,
                    scratch=platform.sizing.of("mlflow").scratch,
                    **common,
                ),
                *render("tracking/Service.yaml.j2", **common),
                *render(
                    "tracking/NetworkPolicy.yaml.j2",
                    store=store.in_cluster,
                    platform_namespace=platform.namespace,
                    front_door=gateway_peer(),
                    **common,
                ),
            ]
            self.uris[team.name] = tracking_uri(team.name, ns)
            objects += render(
                "tracking/ConfigMap.yaml.j2", ns=team.namespace, labels=labels, tracking_uri=self.uris[team.name]
            )
            k8s.apply(
                objects,
                f"{name}-{team.name}",
                self,
                depends_on=[platform.namespace_resource, args.namespace, team_context.namespace],
                pods_wait_for=list(ready.values()),
            )
        self.register_outputs({"uris": self.uris})
