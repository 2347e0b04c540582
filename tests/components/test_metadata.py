"""Metadata: the ML Metadata store on its own database and account, and its Envoy proxy."""

from __future__ import annotations

import yaml

from components.platform import PLATFORM_NAMESPACE
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE


def test_own_database_account(platform):
    secret = platform.get("Secret", "metadata-db", NS)
    assert is_secret(secret.inputs["stringData"])
    values = secret.object["stringData"]
    assert values["database"] == "metadb" and values["username"] == "metadata"
    assert values["host"] == f"mysql.{NS}.svc.cluster.local" and len(values["password"]) == 32
    job = platform.get("Job", "metadata-db-setup", NS)
    pod = job.object["spec"]["template"]["spec"]
    script = pod["containers"][0]["args"][0]
    assert "mysql_native_password" in script and "CREATE DATABASE IF NOT EXISTS" in script
    assert {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v} == {"mysql-admin", "metadata-db"}
    # the Job waits for the database server; the store waits for the Job
    mysql = platform.get("StatefulSet", "mysql", NS)
    assert mysql.urn in job.dependencies
    server = platform.get("Deployment", "metadata-grpc-deployment", NS)
    assert job.urn in server.dependencies


def test_grpc_server_reads_its_connection_from_a_secret_file(platform):
    pod = platform.get("Deployment", "metadata-grpc-deployment", NS).object["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "gcr.io/tfx-oss-public/ml_metadata_store_server:1.14.0"
    flags = dict(a.split("=", 1) for a in container["args"])
    assert flags["--metadata_source_config_type"] == "config_file"  # no fallback to a fake, in-memory store
    assert not [f for f in flags if f.startswith("--mysql_config")]
    path = flags["--metadata_store_server_config_file"]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])["secret"]
    (item,) = volume["items"]
    assert volume["secretName"] == "metadata-db" and item["path"] == path.rsplit("/", 1)[1]
    secret = platform.get("Secret", "metadata-db", NS)
    assert is_secret(secret.inputs["stringData"])
    values = secret.object["stringData"]
    config = values[item["key"]]
    for field in ("host", "database", "user", "password"):
        value = values["username" if field == "user" else field]
        assert f'    {field}: "{value}"\n' in config
    assert f"    port: {values['port']}\n" in config
    assert "migration_options {\n  enable_upgrade_migration: true\n}" in config


def test_envoy_routes_to_the_store(platform):
    config = yaml.safe_load(
        platform.get("ConfigMap", "metadata-envoy-configmap", NS).object["data"]["envoy-config.yaml"]
    )
    (cluster,) = config["static_resources"]["clusters"]
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert address == {"address": f"metadata-grpc-service.{NS}.svc.cluster.local", "port_value": 8080}
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    (listener,) = config["static_resources"]["listeners"]
    assert listener["address"]["socket_address"]["port_value"] == 9090


# The store's methods the pipelines UI calls (frontend/src/mlmd/*.ts in kubeflow/pipelines 2.16.0).
UI_METHODS = [
    "GetArtifactTypes",
    "GetArtifactTypesByID",
    "GetArtifacts",
    "GetArtifactsByContext",
    "GetArtifactsByID",
    "GetContextByTypeAndName",
    "GetContextType",
    "GetContextsByExecution",
    "GetEventsByArtifactIDs",
    "GetEventsByExecutionIDs",
    "GetExecutionTypes",
    "GetExecutions",
    "GetExecutionsByContext",
    "GetExecutionsByID",
]
# Its write methods (ml_metadata/proto/metadata_store_service.proto, ML Metadata 1.14).
WRITE_METHODS = [
    "PutArtifactType",
    "PutExecutionType",
    "PutContextType",
    "PutTypes",
    "PutArtifacts",
    "PutExecutions",
    "PutEvents",
    "PutExecution",
    "PutLineageSubgraph",
    "PutContexts",
    "PutAttributionsAndAssociations",
    "PutParentContexts",
]


def _envoy(platform) -> dict:
    config = yaml.safe_load(
        platform.get("ConfigMap", "metadata-envoy-configmap", NS).object["data"]["envoy-config.yaml"]
    )
    (listener,) = config["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    (manager,) = chain["filters"]
    return manager["typed_config"]


def _first_route(manager: dict, path: str) -> dict:
    """The route Envoy picks for a path: the first whose prefix matches (the config uses prefixes only)."""
    (host,) = manager["route_config"]["virtual_hosts"]
    for route in host["routes"]:
        assert set(route["match"]) == {"prefix"}, route["match"]
        if path.startswith(route["match"]["prefix"]):
            return route
    raise AssertionError(f"no route for {path}")


def test_envoy_passes_only_what_the_ui_reads(platform):
    manager = _envoy(platform)
    for method in UI_METHODS:
        route = _first_route(manager, f"/ml_metadata.MetadataStoreService/{method}")
        assert route["route"]["cluster"] == "metadata-cluster", method
    for method in WRITE_METHODS:
        route = _first_route(manager, f"/ml_metadata.MetadataStoreService/{method}")
        assert "route" not in route and route["direct_response"]["status"] == 403, method
    # other spellings of a write path are normalised before matching
    assert manager["normalize_path"] is True and manager["merge_slashes"] is True
