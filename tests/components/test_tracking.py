"""Tracking: one MLflow server per team, isolated by database, object-store prefix and network."""

from __future__ import annotations

from components.platform import PLATFORM_NAMESPACE
from tests.conftest import team
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE


def test_one_server_per_team(platform):
    servers = {
        d.metadata["name"] for d in platform.of_kind("Deployment", NS) if d.metadata["name"].startswith("mlflow-")
    }
    assert servers == {"mlflow-vision", "mlflow-nlp", "mlflow-forecasting"}


def test_server_configuration(platform):
    pod = platform.get("Deployment", "mlflow-nlp", NS).object["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert "--artifacts-destination=s3://mlpipeline/private-artifacts/nlp/mlflow" in args
    assert "--serve-artifacts" in args and not [a for a in args if a.startswith("--backend-store-uri")]
    hosts = next(a for a in args if a.startswith("--allowed-hosts=")).split("=", 1)[1].split(",")
    assert f"mlflow-nlp.{NS}.svc.cluster.local:5000" in hosts
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == f"http://seaweedfs.{NS}.svc.cluster.local:8333"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlflow-nlp-object-store",
        "key": "accesskey",
    }
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "mlflow-nlp-db", "key": "password"}
    uri = env["MLFLOW_BACKEND_STORE_URI"]["value"]  # read by `mlflow server` from its environment
    assert uri == "mysql+pymysql://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)"
    upgrade = pod["initContainers"][0]["command"]
    assert upgrade[-1].endswith('upgrade.main([os.environ["MLFLOW_BACKEND_STORE_URI"]])')


def test_isolation(platform):
    policy = platform.get("NetworkPolicy", "mlflow-nlp", NS).object["spec"]
    sources = policy["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nlp"}}} in sources
    assert len(sources) == 2 and policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "mlflow-nlp"
    db = platform.get("Secret", "mlflow-nlp-db", NS).object["stringData"]
    other = platform.get("Secret", "mlflow-vision-db", NS).object["stringData"]
    assert db["database"] == "mlflow_nlp" and db["username"] != other["username"]
    keys = platform.get("Secret", "mlflow-nlp-object-store", NS)
    assert is_secret(keys.inputs["stringData"])
    assert keys.object["stringData"] == platform.get("Secret", "object-store-credentials", "nlp").object["stringData"]


def test_team_finds_its_server(platform):
    config = platform.get("ConfigMap", "mlflow-tracking", "vision").object["data"]
    assert config == {"MLFLOW_TRACKING_URI": f"http://mlflow-vision.{NS}.svc.cluster.local:5000"}


def test_tracking_can_be_turned_off(evaluate):
    result = evaluate({"a.yaml": team("alpha")}, tracking="false")
    assert not result.components("mlplatform:index:Tracking")
    assert not [d for d in result.of_kind("Deployment") if d.metadata["name"].startswith("mlflow-")]


def test_long_team_names_get_distinct_database_users(evaluate):
    a, b = "a" * 46 + "-one", "a" * 46 + "-two"  # the longest names a profile may have
    result = evaluate({"a.yaml": team(a), "b.yaml": team(b)})
    users = {result.get("Secret", f"mlflow-{t}-db", NS).object["stringData"]["username"] for t in (a, b)}
    assert len(users) == 2 and all(len(u) <= 32 for u in users)
