"""Tracking: one MLflow server per team, isolated by database, object-store prefix and network."""

from __future__ import annotations

from components.platform import PLATFORM_NAMESPACE
from components.tracking import NAMESPACE as TRACKING_NAMESPACE
from library.routes import gateway_peer
from tests.conftest import team
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE
TRACKING = TRACKING_NAMESPACE


def test_one_server_per_team_in_the_servers_namespace(platform):
    servers = {
        (d.metadata["namespace"], d.metadata["name"])
        for d in platform.of_kind("Deployment")
        if d.metadata["name"].startswith("mlflow-")
    }
    assert servers == {(TRACKING, f"mlflow-{t}") for t in ("vision", "nlp", "forecasting")}
    assert TRACKING not in {"vision", "nlp", "forecasting", NS}
    namespace = platform.get("Namespace", TRACKING).object["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = platform.get("NetworkPolicy", "default-deny-ingress", TRACKING).object["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    # nothing of MLflow's in the team namespace but the ConfigMap that says where the server is
    in_team = {(r.kind, r.metadata["name"]) for r in platform.objects if r.metadata.get("namespace") == "nlp"}
    # (and the notebooks' PodDefault access-mlflow, which points at it)
    assert {k for k, n in in_team if "mlflow" in n} == {"ConfigMap", "PodDefault"}
    in_platform = {
        r.kind for r in platform.objects if r.metadata.get("namespace") == NS and "mlflow-nlp" in r.metadata["name"]
    }
    assert in_platform == {"Job", "Secret", "NetworkPolicy"}  # its account, setup Job, and access to MySQL and S3
    # the setup Job needs the admin Secret, so it stays in the platform namespace, with its copy of the account
    assert platform.get("Job", "mlflow-nlp-db-setup", NS)
    copy, own = platform.get("Secret", "mlflow-nlp-db", NS), platform.get("Secret", "mlflow-nlp-db", TRACKING)
    assert is_secret(own.inputs["stringData"]) and own.object["stringData"] == copy.object["stringData"]


def test_server_configuration(platform):
    pod = platform.get("Deployment", "mlflow-nlp", TRACKING).object["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert "--artifacts-destination=s3://mlpipeline/private-artifacts/nlp/mlflow" in args
    assert "--serve-artifacts" in args and not [a for a in args if a.startswith("--backend-store-uri")]
    hosts = next(a for a in args if a.startswith("--allowed-hosts=")).split("=", 1)[1].split(",")
    assert f"mlflow-nlp.{TRACKING}.svc.cluster.local:5000" in hosts
    for probe in (container["readinessProbe"], container["livenessProbe"]):
        # Below --static-prefix MLflow checks the probe's Host too (403 for the pod IP the kubelet sends).
        (header,) = probe["httpGet"]["httpHeaders"]
        assert header["name"] == "Host" and header["value"].split(":")[0] + ":*" in hosts
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == f"http://seaweedfs.{NS}.svc.cluster.local:8333"
    keys_ref = env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]
    assert keys_ref == {"name": "mlflow-nlp-object-store", "key": "accesskey"}
    keys = platform.get("Secret", "mlflow-nlp-object-store", TRACKING)
    assert is_secret(keys.inputs["stringData"])
    assert keys.object["stringData"] == platform.get("Secret", "object-store-credentials", "nlp").object["stringData"]
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "mlflow-nlp-db", "key": "password"}
    uri = env["MLFLOW_BACKEND_STORE_URI"]["value"]  # read by `mlflow server` from its environment
    assert uri == "mysql+pymysql://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)"
    upgrade = pod["initContainers"][0]["command"]
    assert upgrade[-1].endswith('upgrade.main([os.environ["MLFLOW_BACKEND_STORE_URI"]])')


def test_isolation(platform):
    policy = platform.get("NetworkPolicy", "mlflow-nlp", TRACKING).object["spec"]
    sources = policy["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nlp"}}} in sources
    # besides the team, only the front door's gateway (the UI, for the team's members: test_frontdoor.py)
    assert sources[1:] == [gateway_peer()]
    assert len(sources) == 2 and policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "mlflow-nlp"
    db = platform.get("Secret", "mlflow-nlp-db", TRACKING).object["stringData"]
    other = platform.get("Secret", "mlflow-vision-db", TRACKING).object["stringData"]
    assert db["database"] == "mlflow_nlp" and db["username"] != other["username"]
    # the server reaches the database on its own account only, and the store's S3 port
    mysql = platform.get("NetworkPolicy", "mysql-mlflow-nlp", NS).object["spec"]["ingress"][0]["from"]
    assert {
        "podSelector": {
            "matchLabels": {"app.kubernetes.io/name": "mlflow-nlp", "app.kubernetes.io/instance": "mlflow-nlp"}
        },
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": TRACKING}},
    } in mysql
    store = platform.get("NetworkPolicy", "mlflow-nlp-seaweedfs", NS).object["spec"]
    assert store["ingress"][0]["ports"] == [{"port": 8333, "protocol": "TCP"}]
    assert store["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": TRACKING
    }


def test_team_finds_its_server(platform):
    config = platform.get("ConfigMap", "mlflow-tracking", "vision").object["data"]
    assert config == {"MLFLOW_TRACKING_URI": f"http://mlflow-vision.{TRACKING}.svc.cluster.local:5000"}


def test_tracking_can_be_turned_off(evaluate):
    result = evaluate({"a.yaml": team("alpha")}, tracking="false")
    assert not result.components("mlplatform:index:Tracking")
    assert not [d for d in result.of_kind("Deployment") if d.metadata["name"].startswith("mlflow-")]


def test_long_team_names_get_distinct_database_users(evaluate):
    a, b = "a" * 46 + "-one", "a" * 46 + "-two"  # the longest names a profile may have
    result = evaluate({"a.yaml": team(a), "b.yaml": team(b)})
    users = {result.get("Secret", f"mlflow-{t}-db", TRACKING).object["stringData"]["username"] for t in (a, b)}
    assert len(users) == 2 and all(len(u) <= 32 for u in users)
