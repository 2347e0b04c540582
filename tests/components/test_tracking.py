"""Tracking: one MLflow server per team, isolated by database, object-store prefix and network."""

from __future__ import annotations

from components.platform import PLATFORM_NAMESPACE
from tests.conftest import team
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE


def test_one_server_per_team_in_its_own_namespace(platform):
    servers = {
        (d.metadata["namespace"], d.metadata["name"])
        for d in platform.of_kind("Deployment")
        if d.metadata["name"].startswith("mlflow-")
    }
    assert servers == {("vision", "mlflow-vision"), ("nlp", "mlflow-nlp"), ("forecasting", "mlflow-forecasting")}
    in_platform = {
        r.kind for r in platform.objects if r.metadata.get("namespace") == NS and "mlflow-nlp" in r.metadata["name"]
    }
    assert in_platform == {"Job", "Secret"}
    # the setup Job needs the admin Secret, so it stays in the platform namespace, with its copy of the account
    assert platform.get("Job", "mlflow-nlp-db-setup", NS)
    copy, own = platform.get("Secret", "mlflow-nlp-db", NS), platform.get("Secret", "mlflow-nlp-db", "nlp")
    assert is_secret(own.inputs["stringData"]) and own.object["stringData"] == copy.object["stringData"]


def test_server_configuration(platform):
    pod = platform.get("Deployment", "mlflow-nlp", "nlp").object["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert "--artifacts-destination=s3://mlpipeline/private-artifacts/nlp/mlflow" in args
    assert "--serve-artifacts" in args and not [a for a in args if a.startswith("--backend-store-uri")]
    hosts = next(a for a in args if a.startswith("--allowed-hosts=")).split("=", 1)[1].split(",")
    assert "mlflow-nlp.nlp.svc.cluster.local:5000" in hosts
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == f"http://seaweedfs.{NS}.svc.cluster.local:8333"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {
        "name": "object-store-credentials",
        "key": "accesskey",
    }
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "mlflow-nlp-db", "key": "password"}
    uri = env["MLFLOW_BACKEND_STORE_URI"]["value"]  # read by `mlflow server` from its environment
    assert uri == "mysql+pymysql://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)"
    upgrade = pod["initContainers"][0]["command"]
    assert upgrade[-1].endswith('upgrade.main([os.environ["MLFLOW_BACKEND_STORE_URI"]])')


def test_isolation(platform):
    policy = platform.get("NetworkPolicy", "mlflow-nlp", "nlp").object["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "mlflow-nlp"
    assert policy["ingress"] == [{"from": [{"podSelector": {}}], "ports": [{"port": 5000, "protocol": "TCP"}]}]
    db = platform.get("Secret", "mlflow-nlp-db", "nlp").object["stringData"]
    other = platform.get("Secret", "mlflow-vision-db", "vision").object["stringData"]
    assert db["database"] == "mlflow_nlp" and db["username"] != other["username"]
    assert platform.get("Secret", "object-store-credentials", "nlp")  # the team's own keys, which the server uses


def test_team_finds_its_server(platform):
    config = platform.get("ConfigMap", "mlflow-tracking", "vision").object["data"]
    assert config == {"MLFLOW_TRACKING_URI": "http://mlflow-vision.vision.svc.cluster.local:5000"}


def test_tracking_can_be_turned_off(evaluate):
    result = evaluate({"a.yaml": team("alpha")}, tracking="false")
    assert not result.components("mlplatform:index:Tracking")
    assert not [d for d in result.of_kind("Deployment") if d.metadata["name"].startswith("mlflow-")]


def test_long_team_names_get_distinct_database_users(evaluate):
    a, b = "a" * 46 + "-one", "a" * 46 + "-two"  # the longest names a profile may have
    result = evaluate({"a.yaml": team(a), "b.yaml": team(b)})
    users = {result.get("Secret", f"mlflow-{t}-db", t).object["stringData"]["username"] for t in (a, b)}
    assert len(users) == 2 and all(len(u) <= 32 for u in users)
