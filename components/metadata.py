"""Metadata: the ML Metadata store (artifacts, executions, lineage) and its read-only gRPC-web proxy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from inputs.settings import Settings
from library import envoy, k8s
from library.accounts import account_objects
from library.context import Needs, PlatformContext, Shared
from library.manifests import render
from library.network import Endpoint
from library.routes import Route, gateway_peer
from library.services import Database

METADATA_DATABASE = "metadb"
"""ML Metadata's schema (the name Kubeflow Pipelines uses)."""
GRPC_SERVICE = "metadata-grpc-service"
GRPC_PORT = 8080
GRPC_ENDPOINT = Endpoint("metadata-grpc", k8s.workload_labels("metadata-grpc-server", "metadata")[0], (GRPC_PORT,))
"""The store's gRPC port, which the v2 driver and launcher of team pipelines write to."""


ROUTE = Route("/ml_metadata", "metadata-envoy-service", None, 9090)
"""The read-only gRPC-web proxy on the platform's address, as upstream routes it (kubeflow/manifests 26.03
applications/pipeline/upstream/base/metadata/options/istio/virtual-service.yaml): the pipelines UI's page
calls `/ml_metadata.MetadataStoreService/...` on its own origin (kubeflow/pipelines 2.16.0
frontend/src/mlmd/Api.ts: `new MetadataStoreServicePromiseClient('', ...)`)."""

READ_METHODS = "/ml_metadata.MetadataStoreService/Get"
"""Path prefix of the store's read methods; every write method is `Put...` (ML Metadata 1.14,
third_party/ml-metadata/ml_metadata/proto/metadata_store_service.proto in kubeflow/pipelines 2.16.0)."""


STORE_CONFIG_KEY = "store-config.pbtxt"
"""Key of the store's connection file in its database Secret."""


def grpc_host(namespace: str) -> str:
    """In-cluster host name of the store's gRPC service in `namespace`."""
    return f"{GRPC_SERVICE}.{namespace}.svc.cluster.local"


def envoy_host(namespace: str) -> str:
    """In-cluster host name of the read-only gRPC-web proxy in `namespace`."""
    return f"metadata-envoy-service.{namespace}.svc.cluster.local"


def store_config(host: str, port: str, database: str, user: str, password: str) -> str:
    """The store's MetadataStoreServerConfig (text format): its MySQL connection and schema upgrades.

    The server reads it with --metadata_source_config_type=config_file (ml-metadata v1.14.0
    metadata_store_server_main.cc), so the password is in a file, not in its arguments. In that mode
    --enable_database_upgrade is ignored; migration_options carries it instead.
    """
    fields = {"host": host, "port": int(port), "database": database, "user": user, "password": password}
    # JSON string escapes are valid text-format escapes for these ASCII values.
    lines = [
        "connection_config {",
        "  mysql {",
        *(f"    {key}: {json.dumps(value)}" for key, value in fields.items()),
        "  }",
        "}",
        "migration_options {",
        "  enable_upgrade_migration: true",
        "}",
    ]
    return "\n".join(lines) + "\n"


def envoy_config(namespace: str) -> str:
    """Envoy configuration: gRPC-web on :9090 in front of the store's gRPC port (HTTP/2 upstream),
    passing only read methods. The pipelines UI forwards every `/ml_metadata.*` request of a
    signed-in user here unchecked (frontend/server/app.ts, 2.16.0) and itself only reads."""
    routes = [
        {
            "match": {"prefix": READ_METHODS},
            "route": {"cluster": "metadata-cluster", "max_stream_duration": {"grpc_timeout_header_max": "0s"}},
        },
        {
            "match": {"prefix": "/"},
            "direct_response": {"status": 403, "body": {"inline_string": "ML Metadata is read-only here"}},
        },
    ]
    front = envoy.listener(
        "listener_0",
        9090,
        routes,
        stat_prefix="ingress_http",
        route_name="local_route",
        virtual_host="local_service",
        # Match on the normalised path, so that no spelling of a write method reaches the store.
        normalize_path=True,
        filters=(envoy.GRPC_WEB, envoy.ROUTER),
    )
    store = envoy.cluster(
        "metadata-cluster",
        f"{GRPC_SERVICE}.{namespace}.svc.cluster.local",
        GRPC_PORT,
        connect_timeout="30s",
        dns="LOGICAL_DNS",
        http2=True,
        protocol_first=True,
    )
    return envoy.config([front], [store])


@dataclass(frozen=True)
class MetadataArgs:
    """Inputs of the metadata store."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    database: Database
    """The distribution's MySQL server; the store gets its own schema and account on it."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The backing services to wait for."""


class Metadata(pulumi.ComponentResource):
    """ML Metadata 1.14 (gRPC store server) on the distribution's MySQL, plus a read-only Envoy for the UI."""

    grpc_service_host: str
    """In-cluster host name of the store's gRPC service (port 8080)."""
    envoy_service_host: str
    """In-cluster host name of the read-only gRPC-web proxy (port 9090)."""

    slug: ClassVar[str] = "metadata"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = False

    @classmethod
    def needs(cls, settings: Settings) -> Needs:
        """Pipeline steps in every team namespace record their executions and artifacts over gRPC."""
        return Needs(team_endpoints=lambda team: (GRPC_ENDPOINT,), routes=(ROUTE,))

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Metadata:
        return cls(
            name, MetadataArgs(platform=shared.platform, database=shared.database, depends_on=shared.ready), opts
        )

    def __init__(self, name: str, args: MetadataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Metadata", name, None, opts)
        platform = args.platform
        ns = platform.namespace
        grpc_selector, grpc_labels = k8s.workload_labels("metadata-grpc-server", "metadata")
        envoy_selector, envoy_labels = k8s.workload_labels("metadata-envoy", "metadata")
        config = envoy_config(ns)
        grpc = {
            "labels": grpc_labels,
            "selector": grpc_selector,
            "image": platform.images["ml-metadata-server"],
            "resources": platform.sizing.of("metadata-grpc-server").resources,
        }
        proxy = {
            "labels": envoy_labels,
            "selector": envoy_selector,
            "image": platform.images["kfp-metadata-envoy"],
            "resources": platform.sizing.of("metadata-envoy").resources,
            "scratch": platform.sizing.of("metadata-envoy").scratch,
            "config": config,
            "config_digest": hashlib.sha256(config.encode()).hexdigest(),
        }

        account, setup = account_objects(
            "metadata",
            name,
            platform,
            args.database,
            [METADATA_DATABASE],
            grpc_labels,
            self,
            auth_plugin="mysql_native_password",  # ML Metadata's MySQL client needs it
            derived=lambda values: {
                STORE_CONFIG_KEY: pulumi.Output.secret(
                    pulumi.Output.all(
                        values["host"], values["port"], values["database"], values["username"], values["password"]
                    ).apply(lambda v: store_config(*v))
                )
            },
        )
        ready = k8s.apply(
            setup, f"{name}-db", self, depends_on=[platform.namespace_resource], pods_wait_for=args.depends_on
        )
        k8s.apply(
            [
                *render(
                    "metadata/ServiceAccount.yaml.j2",
                    ns=ns,
                    labels=grpc_labels,
                    accounts=["metadata-grpc-server", "metadata-envoy"],
                ),
                *render("metadata/ConfigMap.yaml.j2", ns=ns, grpc=grpc, envoy=proxy),
                *render(
                    "metadata/Deployment.yaml.j2",
                    ns=ns,
                    grpc=grpc,
                    envoy=proxy,
                    db_secret=account.secret,
                    config_key=STORE_CONFIG_KEY,
                ),
                *render("metadata/Service.yaml.j2", ns=ns, grpc=grpc, envoy=proxy),
                *render("metadata/NetworkPolicy.yaml.j2", ns=ns, grpc=grpc, envoy=proxy, front_door=gateway_peer()),
            ],
            name,
            self,
            depends_on=[platform.namespace_resource],
            pods_wait_for=list(ready.values()),
        )
        self.grpc_service_host = grpc_host(ns)
        self.envoy_service_host = envoy_host(ns)
        self.register_outputs({"grpcServiceHost": self.grpc_service_host})
