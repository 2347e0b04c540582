"""The object store translated, once, into what each client needs.

A distribution describes its store as a `library.services.ObjectStore` and each team's access as a
`TeamAccess` (a prefix, and keys in the team's OBJECT_STORE_SECRET or a workload identity). The
clients name the same facts differently: the KFP launcher and frontend call an S3-compatible store
`minio`, Argo wants an artifact repository, boto3 (MLflow, and KServe's storage initializer when
serving arrives) reads environment variables. Every such spelling is made here.
"""

from __future__ import annotations

import yaml

from library.services import ACCESS_KEY, SECRET_KEY, ObjectStore

ARTIFACTS = "private-artifacts/"
"""Where artifacts go below the bucket: one folder per team namespace (the layout Kubeflow
Pipelines' multi-user mode uses)."""
ARGO_KEY_FORMAT = (
    "{{workflow.name}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}"
    "/{{workflow.creationTimestamp.d}}/{{pod.name}}"
)
"""Argo's key layout below a namespace's prefix (as Kubeflow Pipelines' multi-user install uses it)."""


def team_prefix(namespace: str) -> str:
    """The key prefix of a namespace's artifacts (also an Argo expression such as `{{workflow.namespace}}`)."""
    return f"{ARTIFACTS}{namespace}/"


def host_port(store: ObjectStore) -> tuple[str, str]:
    """The endpoint's host and port (an empty port when the endpoint has none)."""
    host, _, port = store.endpoint.rpartition(":")
    return (host, port) if host else (store.endpoint, "")


def kfp_provider(store: ObjectStore) -> str:
    """Kubeflow Pipelines' name for the store: `s3` for Amazon S3, `minio` for any S3-compatible store."""
    return "s3" if store.kind == "aws-s3" else "minio"


def pipeline_root(store: ObjectStore, prefix: str) -> str:
    """Where a namespace's v2 artifacts go: `minio://` selects the launcher's S3-compatible provider,
    `s3://` Amazon S3 (backend/src/v2/objectstore)."""
    return f"{kfp_provider(store)}://{store.bucket}/{prefix}v2/artifacts"


def api_server_values(store: ObjectStore) -> dict:
    """Template values of the KFP API server's object-store settings (OBJECTSTORECONFIG_*)."""
    host, port = host_port(store)
    return {
        "host": host,
        "port": port,
        "secure": str(store.secure).lower(),
        "bucket": store.bucket,
        "region": store.region,
        "secret": store.credentials_secret,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
    }


def _key_refs(secret: str, access_var: str, secret_var: str) -> list[dict]:
    return [
        {"name": access_var, "valueFrom": {"secretKeyRef": {"name": secret, "key": ACCESS_KEY}}},
        {"name": secret_var, "valueFrom": {"secretKeyRef": {"name": secret, "key": SECRET_KEY}}},
    ]


def frontend_environment(store: ObjectStore, secret: str | None) -> list[dict]:
    """Environment of the KFP frontend's object-store clients (frontend/server/configs.ts): MINIO_* for
    an S3-compatible store; for Amazon S3 the region, and keys only when there is no workload identity."""
    archive = [
        {"name": "ARGO_ARCHIVE_BUCKETNAME", "value": store.bucket},
        {"name": "ARGO_ARCHIVE_ARTIFACTORY", "value": kfp_provider(store)},
    ]
    if store.kind == "aws-s3":
        env = [*archive, {"name": "AWS_REGION", "value": store.region}]
        return env + (_key_refs(secret, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if secret else [])
    host, port = host_port(store)
    env = [
        *archive,
        {"name": "MINIO_HOST", "value": host},
        {"name": "MINIO_NAMESPACE", "value": ""},  # host is already fully qualified
        {"name": "MINIO_PORT", "value": port or ("443" if store.secure else "80")},
        {"name": "MINIO_SSL", "value": "true" if store.secure else "false"},
    ]
    return env + (_key_refs(secret, "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY") if secret else [])


def launcher_providers(store: ObjectStore, secret: str | None) -> str:
    """The v2 launcher's `providers` setting (kfp-launcher ConfigMap, backend/src/v2/config): how to
    reach the store, with the keys of `secret` or (without one) the pod's own credentials."""
    credentials: dict = (
        {
            "fromEnv": False,
            "secretRef": {"secretName": secret, "accessKeyKey": ACCESS_KEY, "secretKeyKey": SECRET_KEY},
        }
        if secret
        else {"fromEnv": True}
    )
    default = {
        "endpoint": store.endpoint,
        "region": store.region,
        "disableSSL": not store.secure,
        "forcePathStyle": store.kind != "aws-s3",
        "credentials": credentials,
    }
    return yaml.safe_dump({kfp_provider(store): {"default": default}}, sort_keys=False)


def artifact_repository(store: ObjectStore, prefix: str, secret: str | None) -> str:
    """An Argo artifact repository (YAML) on `store` below `prefix`.

    With a credentials Secret, Argo signs with its keys (read from the workflow's namespace);
    without one it uses the pod's workload identity (useSDKCreds).
    """
    s3: dict = {
        "endpoint": store.endpoint,
        "bucket": store.bucket,
        "region": store.region,
        "insecure": not store.secure,
        "keyFormat": prefix + ARGO_KEY_FORMAT,
    }
    if secret:
        s3["accessKeySecret"] = {"name": secret, "key": ACCESS_KEY}
        s3["secretKeySecret"] = {"name": secret, "key": SECRET_KEY}
    else:
        s3["useSDKCreds"] = True
    return yaml.safe_dump({"archiveLogs": True, "s3": s3}, sort_keys=False)


def boto_environment(store: ObjectStore, secret: str | None) -> list[dict]:
    """Environment for an S3 client built on boto3 (MLflow today, KServe's storage initializer
    later): the region, the endpoint of an S3-compatible store, and the keys of `secret` when
    there is one (without, boto3 finds the pod's workload identity itself)."""
    env = [{"name": "AWS_DEFAULT_REGION", "value": store.region}]
    if store.kind == "s3-compatible":
        scheme = "https" if store.secure else "http"
        env.append({"name": "MLFLOW_S3_ENDPOINT_URL", "value": f"{scheme}://{store.endpoint}"})
    return env + (_key_refs(secret, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if secret else [])


def s3_uri(store: ObjectStore, prefix: str, leaf: str) -> str:
    """The `s3://` URI of `leaf` below `prefix` in the bucket (boto3's spelling, any store kind)."""
    return f"s3://{store.bucket}/{prefix}{leaf}"


def workload_environment(store: ObjectStore, prefix: str, secret: str | None) -> list[dict]:
    """Environment for a team's own code (notebooks) on its prefix: boto3's settings (`boto_environment`),
    the endpoint also as boto3 1.28+ reads it for S3 (AWS_ENDPOINT_URL_S3) so plain `boto3.client("s3")`
    works, and the team's place in the bucket as an `s3://` URI (ARTIFACTS_URI)."""
    env = boto_environment(store, secret)
    if store.kind == "s3-compatible":
        scheme = "https" if store.secure else "http"
        env.append({"name": "AWS_ENDPOINT_URL_S3", "value": f"{scheme}://{store.endpoint}"})
    return [*env, {"name": "ARTIFACTS_URI", "value": f"s3://{store.bucket}/{prefix}"}]


def kserve_s3(store: ObjectStore) -> dict[str, str]:
    """KServe's S3 settings (inferenceservice-config `credentials.s3`, kserve/kserve v0.16.0
    pkg/credentials/s3): the key names of every credentials Secret here, and the store's endpoint, scheme
    and region, which the controller gives every storage initializer (S3_ENDPOINT, AWS_ENDPOINT_URL,
    S3_USE_HTTPS, AWS_DEFAULT_REGION) whether its credentials come from a Secret or a workload identity.
    Amazon S3 needs no endpoint (boto3 finds it from the region); an S3-compatible store is addressed
    by path (the storage initializer's default)."""
    compatible = store.kind == "s3-compatible"
    return {
        "s3AccessKeyIDName": ACCESS_KEY,
        "s3SecretAccessKeyName": SECRET_KEY,
        "s3Endpoint": store.endpoint if compatible else "",
        "s3UseHttps": ("1" if store.secure else "0") if compatible else "",
        "s3Region": store.region,
    }
