"""The object store's one translation into each client's settings."""

from __future__ import annotations

import yaml

from library import object_store
from library.services import ACCESS_KEY, SECRET_KEY, ObjectStore

COMPATIBLE = ObjectStore("s3-compatible", "seaweedfs.kubeflow.svc.cluster.local:8333", False, "us-east-1", "b", "keys")
AMAZON = ObjectStore("aws-s3", "s3.eu-west-1.amazonaws.com", True, "eu-west-1", "b", None)


def test_team_prefix_is_below_the_artifacts_folder():
    assert object_store.team_prefix("nlp") == "private-artifacts/nlp/"
    assert object_store.team_prefix("{{workflow.namespace}}") == "private-artifacts/{{workflow.namespace}}/"


def test_kfp_names_a_compatible_store_minio():
    assert object_store.pipeline_root(COMPATIBLE, "p/") == "minio://b/p/v2/artifacts"
    assert object_store.pipeline_root(AMAZON, "p/") == "s3://b/p/v2/artifacts"
    assert list(yaml.safe_load(object_store.launcher_providers(AMAZON, None))) == ["s3"]


def test_launcher_reads_the_secret_keys_by_their_constants():
    providers = yaml.safe_load(object_store.launcher_providers(COMPATIBLE, "team-keys"))
    default = providers["minio"]["default"]
    assert default["forcePathStyle"] is True and default["disableSSL"] is True
    assert default["credentials"]["secretRef"] == {
        "secretName": "team-keys",
        "accessKeyKey": ACCESS_KEY,
        "secretKeyKey": SECRET_KEY,
    }


def test_argo_uses_the_pod_identity_without_a_secret():
    s3 = yaml.safe_load(object_store.artifact_repository(AMAZON, "p/", None))["s3"]
    assert s3["useSDKCreds"] is True and "accessKeySecret" not in s3
    assert s3["keyFormat"] == "p/" + object_store.ARGO_KEY_FORMAT


def test_boto_environment():
    env = {e["name"]: e for e in object_store.boto_environment(COMPATIBLE, "keys")}
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == "http://seaweedfs.kubeflow.svc.cluster.local:8333"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "keys", "key": SECRET_KEY}}
    assert [e["name"] for e in object_store.boto_environment(AMAZON, None)] == ["AWS_DEFAULT_REGION"]


def test_frontend_port_defaults_by_tls():
    bare = ObjectStore("s3-compatible", "minio.example", True, "r", "b", None)
    env = {e["name"]: e.get("value") for e in object_store.frontend_environment(bare, None)}
    assert env["MINIO_HOST"] == "minio.example" and env["MINIO_PORT"] == "443" and "MINIO_ACCESS_KEY" not in env
