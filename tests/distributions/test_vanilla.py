"""vanilla: in-cluster MySQL and SeaweedFS, their volumes, credentials and isolation."""

from __future__ import annotations

import json

from components.platform import PLATFORM_NAMESPACE
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE


def test_mysql_statefulset(platform):
    sts = platform.get("StatefulSet", "mysql", NS).inputs["spec"]
    pod = sts["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/library/mysql:8.4.11"
    assert "--mysql-native-password=ON" in container["args"]
    assert container["env"] == [{"name": "MYSQL_ROOT_PASSWORD_FILE", "value": "/etc/mysql-admin/password"}]
    admin = next(v for v in pod["volumes"] if v["name"] == "admin")["secret"]
    assert admin == {"secretName": "mysql-admin", "items": [{"key": "password", "path": "password"}]}
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "800Mi"}
    assert pod["securityContext"]["runAsUser"] == 999 and pod["securityContext"]["runAsNonRoot"] is True
    claim = next(v for v in pod["volumes"] if v["name"] == "data")["persistentVolumeClaim"]["claimName"]
    pvc = platform.get("PersistentVolumeClaim", claim, NS)
    assert pvc.inputs["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc.retain_on_delete


def test_sizes_change_requests_and_volumes(evaluate):
    from tests.conftest import team

    large = evaluate({"a.yaml": team("alpha")}, size="large")
    (container,) = large.get("StatefulSet", "mysql", NS).inputs["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}
    assert (
        large.get("PersistentVolumeClaim", "mysql-data", NS).inputs["spec"]["resources"]["requests"]["storage"]
        == "500Gi"
    )


def test_registry_override_reaches_every_container(evaluate):
    from tests.conftest import team

    mirrored = evaluate({"a.yaml": team("alpha")}, imageRegistry="mirror.internal:5000/ml")
    images = [
        c["image"]
        for r in mirrored.objects
        if r.kind in ("StatefulSet", "Deployment")
        for c in r.inputs["spec"]["template"]["spec"]["containers"]
    ]
    assert images and all(i.startswith("mirror.internal:5000/ml/") for i in images)


def test_admin_secret_is_secret_and_complete(platform):
    admin = platform.get("Secret", "mysql-admin", NS)
    assert is_secret(admin.inputs["stringData"])
    values = admin.object["stringData"]
    assert values["host"] == f"mysql.{NS}.svc.cluster.local" and values["port"] == "3306"
    assert values["username"] == "root" and len(values["password"]) == 32


def test_passwords_appear_only_inside_secrets(platform):
    passwords = [r.inputs for r in platform.registrations if r.type.startswith("random:")]
    # mysql root, platform S3 key pair, a key pair per team, one account per database-using component
    assert len(passwords) >= 1 + 2 + 2 * 3 + 1
    generated = {
        r.object["stringData"][k]
        for r in platform.of_kind("Secret")
        for k in ("password", "accesskey", "secretkey")
        if k in r.object["stringData"]
    }
    assert len(generated) == len(passwords)
    for r in platform.registrations:
        plain = json.dumps({k: v for k, v in r.inputs.items() if not is_secret(v)}, default=str)
        leaked = [g for g in generated if g in plain]
        assert not leaked, f"{r.urn} holds a generated credential in plain text"


def test_seaweedfs_identities_are_scoped(platform):
    config = platform.get("Secret", "seaweedfs-s3-config", NS)
    assert is_secret(config.inputs["stringData"])
    identities = {i["name"]: i for i in json.loads(config.object["stringData"]["s3.json"])["identities"]}
    assert set(identities) == {"mlplatform", "team-forecasting", "team-nlp", "team-vision"}
    assert identities["mlplatform"]["actions"] == [
        "Read:mlpipeline",
        "Write:mlpipeline",
        "List:mlpipeline",
        "Tagging:mlpipeline",
    ]
    assert identities["team-nlp"]["actions"] == [
        f"{a}:mlpipeline/private-artifacts/nlp/*" for a in ("Read", "Write", "List", "Tagging")
    ]
    assert not any("Admin" in a for i in identities.values() for a in i["actions"])
    team_secret = platform.get("Secret", "object-store-credentials", "nlp").object["stringData"]
    assert identities["team-nlp"]["credentials"] == [
        {"accessKey": team_secret["accesskey"], "secretKey": team_secret["secretkey"]}
    ]


def test_seaweedfs_restarts_when_identities_change(platform):
    sts = platform.get("StatefulSet", "seaweedfs", NS).inputs["spec"]["template"]
    digest = sts["metadata"]["annotations"]["mlplatform.io/s3-config-sha256"]
    assert isinstance(digest, str) and len(digest) == 64
    assert "-s3.config=/etc/seaweedfs/s3.json" in sts["spec"]["containers"][0]["args"]
    assert platform.get("PersistentVolumeClaim", "seaweedfs-data", NS).retain_on_delete


def test_mysql_is_reachable_only_from_the_platform_namespace(platform):
    rule = platform.get("NetworkPolicy", "mysql", NS).inputs["spec"]["ingress"]
    assert rule == [{"from": [{"podSelector": {}}], "ports": [{"port": 3306, "protocol": "TCP"}]}]
    s3 = platform.get("NetworkPolicy", "seaweedfs", NS).inputs["spec"]["ingress"][0]
    assert s3["ports"] == [{"port": 8333, "protocol": "TCP"}]
    assert {"namespaceSelector": {"matchLabels": {"app.kubernetes.io/part-of": "kubeflow-profile"}}} in s3["from"]


def test_everything_in_the_platform_namespace_waits_for_it(platform):
    ns = platform.get("Namespace", NS)
    assert ns.retain_on_delete
    inside = [r for r in platform.objects if r.metadata.get("namespace") == NS]
    assert inside and all(ns.urn in r.dependencies for r in inside)


def test_each_team_key_is_scoped_to_that_team_whatever_the_file_order(evaluate):
    """Regression: identities were once paired with keys by sorted name, not by the team's own keys."""
    from tests.conftest import team

    result = evaluate({"a.yaml": team("zulu"), "b.yaml": team("alpha"), "c.yaml": team("mike")})
    identities = json.loads(result.get("Secret", "seaweedfs-s3-config", NS).object["stringData"]["s3.json"])
    by_key = {i["credentials"][0]["accessKey"]: i for i in identities["identities"]}
    for name in ("zulu", "alpha", "mike"):
        keys = result.get("Secret", "object-store-credentials", name).object["stringData"]
        identity = by_key[keys["accesskey"]]
        assert identity["name"] == f"team-{name}"
        assert identity["credentials"][0]["secretKey"] == keys["secretkey"]
        assert identity["actions"][0] == f"Read:mlpipeline/private-artifacts/{name}/*"


def test_bring_your_own_database_and_bucket(evaluate):
    from tests.conftest import team

    byo = {
        "databaseHost": "mysql.db.internal",
        "databaseAdminUser": "admin",
        "databaseAdminPassword": "s3cr3t-pw",
        "objectStoreBucket": "ml-artifacts",
        "objectStoreEndpoint": "minio.storage:9000",
        "objectStoreSecure": "false",
        "objectStoreAccessKey": "AKIAEXAMPLE",
        "objectStoreSecretKey": "secret-key-example",
    }
    result = evaluate(
        {"a.yaml": team("alpha")},
        secret=("databaseAdminPassword", "objectStoreAccessKey", "objectStoreSecretKey"),
        **byo,
    )
    assert not result.of_kind("StatefulSet", NS)  # nothing of its own to run
    admin = result.get("Secret", "mysql-admin", NS)
    assert is_secret(admin.inputs["stringData"])
    assert admin.object["stringData"] == {
        "host": "mysql.db.internal",
        "port": "3306",
        "username": "admin",
        "password": "s3cr3t-pw",
    }
    creds = result.get("Secret", "object-store-credentials", NS)
    assert is_secret(creds.inputs["stringData"])
    env = {
        e["name"]: e.get("value")
        for e in result.get("Deployment", "ml-pipeline", NS).object["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["OBJECTSTORECONFIG_HOST"] == "minio.storage" and env["OBJECTSTORECONFIG_PORT"] == "9000"
    assert env["OBJECTSTORECONFIG_BUCKETNAME"] == "ml-artifacts"
    team_keys = result.get("Secret", "object-store-credentials", "alpha").object["stringData"]
    assert team_keys == {"accesskey": "AKIAEXAMPLE", "secretkey": "secret-key-example"}
