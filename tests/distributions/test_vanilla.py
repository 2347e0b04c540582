"""vanilla: in-cluster MySQL and SeaweedFS, their volumes, credentials and isolation."""

from __future__ import annotations

import json
import subprocess

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
    assert admin == {
        "secretName": "mysql-admin",
        "items": [{"key": "password", "path": "password"}, {"key": "init.sql", "path": "init.sql"}],
    }
    assert {k: container["resources"]["requests"][k] for k in ("cpu", "memory")} == {"cpu": "100m", "memory": "800Mi"}
    assert pod["securityContext"]["runAsUser"] == 999 and pod["securityContext"]["runAsNonRoot"] is True
    claim = next(v for v in pod["volumes"] if v["name"] == "data")["persistentVolumeClaim"]["claimName"]
    pvc = platform.get("PersistentVolumeClaim", claim, NS)
    assert pvc.inputs["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc.retain_on_delete


def test_only_ml_metadata_uses_the_old_password_plugin(platform):
    (container,) = platform.get("StatefulSet", "mysql", NS).inputs["spec"]["template"]["spec"]["containers"]
    assert not [a for a in container["args"] if a.startswith("--authentication-policy")]  # 8.4's default for all
    native = {
        job.metadata["name"]
        for job in platform.of_kind("Job", NS)
        if job.metadata["name"].endswith("-db-setup")
        and "mysql_native_password" in job.object["spec"]["template"]["spec"]["containers"][0]["args"][0]
    }
    assert native == {"metadata-db-setup"}
    init = platform.get("Secret", "mysql-admin", NS).object["stringData"]["init.sql"]
    assert "mysql_native_password" not in init and "caching_sha2_password" in init


def test_a_slow_first_start_is_not_killed(platform):
    (container,) = platform.get("StatefulSet", "mysql", NS).inputs["spec"]["template"]["spec"]["containers"]
    startup, liveness = container["startupProbe"], container["livenessProbe"]
    budget = startup.get("initialDelaySeconds", 0) + startup["periodSeconds"] * startup["failureThreshold"]
    assert budget >= 600  # initialising a data directory may take minutes on a slow volume
    assert budget > liveness.get("initialDelaySeconds", 0) + liveness["periodSeconds"] * liveness.get(
        "failureThreshold", 3
    )


def run_mysql_command(container: dict, datadir, tmp_path) -> list[str]:
    """Run the container's start command with a stand-in entrypoint; return what the entrypoint got."""
    entrypoint = tmp_path / "entrypoint.sh"
    entrypoint.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    entrypoint.chmod(0o755)
    script = container["command"][2].replace("/var/lib/mysql", str(datadir))
    script = script.replace("/usr/local/bin/docker-entrypoint.sh", str(entrypoint))
    command = [*container["command"][:2], script, *container["command"][3:], *container["args"]]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()


def test_a_kept_data_directory_takes_the_current_root_password(platform, tmp_path):
    """After `pulumi destroy` the claim keeps the data and `up` generates a new root password: the server
    must adopt the admin Secret's password at start, or every setup Job is locked out."""
    spec = platform.get("StatefulSet", "mysql", NS).inputs["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    fresh = run_mysql_command(container, tmp_path / "empty", tmp_path)
    assert fresh[0] == "mysqld" and not [a for a in fresh if a.startswith("--init-file")]
    (tmp_path / "kept" / "mysql").mkdir(parents=True)
    kept = run_mysql_command(container, tmp_path / "kept", tmp_path)
    (init_file,) = [a.split("=", 1)[1] for a in kept if a.startswith("--init-file=")]
    mount = next(m for m in container["volumeMounts"] if init_file.startswith(m["mountPath"] + "/"))
    items = next(v for v in spec["volumes"] if v["name"] == mount["name"])["secret"]["items"]
    key = next(i["key"] for i in items if i["path"] == init_file[len(mount["mountPath"]) + 1 :])
    admin = platform.get("Secret", "mysql-admin", NS)
    assert is_secret(admin.inputs["stringData"])
    values = admin.object["stringData"]
    statements = values[key].splitlines()
    assert {s.split(" IDENTIFIED")[0] for s in statements} == {
        "ALTER USER IF EXISTS 'root'@'%'",
        "ALTER USER IF EXISTS 'root'@'localhost'",
    }
    assert all(s.endswith(f"BY '{values['password']}';") for s in statements)


def test_sizes_change_requests_and_volumes(evaluate):
    from tests.conftest import team

    large = evaluate({"a.yaml": team("alpha")}, size="large")
    (container,) = large.get("StatefulSet", "mysql", NS).inputs["spec"]["template"]["spec"]["containers"]
    assert {k: container["resources"]["requests"][k] for k in ("cpu", "memory")} == {"cpu": "2", "memory": "8Gi"}
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
    # mysql root, platform S3 key pair, a key pair per team, one account per database-using component,
    # the sign-in's cookie and client secrets
    assert len(passwords) >= 1 + 2 + 2 * 3 + 1 + 2
    generated = {
        r.object["stringData"][k]
        for r in platform.of_kind("Secret")
        for k in ("password", "accesskey", "secretkey", "cookie-secret", "client-secret")
        if k in r.object["stringData"]
    }
    assert len(generated) == len(passwords)
    for r in platform.registrations:
        plain = json.dumps({k: v for k, v in r.inputs.items() if not is_secret(v)}, default=str)
        leaked = [g for g in generated if g in plain]
        assert not leaked, f"{r.urn} holds a generated credential in plain text"


def identity(result, team: str) -> dict:
    """A team's SeaweedFS identity as its Secret holds it."""
    secret = result.get("Secret", f"s3-identity-{team}", NS)
    assert is_secret(secret.inputs["stringData"])
    return json.loads(secret.object["stringData"]["identity.json"])


def test_seaweedfs_identities_are_scoped(platform):
    config = platform.get("Secret", "seaweedfs-s3-config", NS)
    assert is_secret(config.inputs["stringData"])
    (static,) = json.loads(config.object["stringData"]["s3.json"])["identities"]
    assert static["name"] == "mlplatform"
    assert static["actions"] == ["Read:mlpipeline", "Write:mlpipeline", "List:mlpipeline", "Tagging:mlpipeline"]
    platform_keys = platform.get("Secret", "object-store-credentials", NS).object["stringData"]
    assert static["credentials"] == [{"accessKey": platform_keys["accesskey"], "secretKey": platform_keys["secretkey"]}]
    nlp = identity(platform, "nlp")
    assert nlp["name"] == "team-nlp"
    assert nlp["actions"] == [f"{a}:mlpipeline/private-artifacts/nlp/*" for a in ("Read", "Write", "List", "Tagging")]
    assert not any("Admin" in a for t in ("nlp", "vision", "forecasting") for a in identity(platform, t)["actions"])
    team_secret = platform.get("Secret", "object-store-credentials", "nlp").object["stringData"]
    assert nlp["credentials"] == [{"access_key": team_secret["accesskey"], "secret_key": team_secret["secretkey"]}]


def test_a_job_writes_each_team_identity_into_the_filer(platform):
    job = platform.get("Job", "s3-identity-nlp", NS)
    pod = job.inputs["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["command"][-1] == (
        f"http://seaweedfs-filer.{NS}.svc.cluster.local:8888/etc/iam/identities/team-nlp.json"
    )
    assert "file=@/etc/s3-identity/identity.json" in container["command"]
    assert pod["spec"]["volumes"] == [{"name": "identity", "secret": {"secretName": "s3-identity-nlp"}}]
    assert len(pod["metadata"]["annotations"]["mlplatform.io/identity-sha256"]) == 64
    sts = platform.get("StatefulSet", "seaweedfs", NS)
    assert sts.urn in job.dependencies  # the filer is up before the Job runs


def test_adding_a_team_does_not_restart_the_store(evaluate):
    from tests.conftest import team

    def store(result):
        return result.get("StatefulSet", "seaweedfs", NS).inputs["spec"]["template"]

    one = evaluate({"a.yaml": team("alpha")})
    two = evaluate({"a.yaml": team("alpha"), "b.yaml": team("beta")})
    # the mocks draw new random keys on every run: compare the template's shape, not the digest
    assert store(one)["spec"] == store(two)["spec"]
    assert "-s3.config=/etc/seaweedfs/s3.json" in store(two)["spec"]["containers"][0]["args"]
    config = json.loads(two.get("Secret", "seaweedfs-s3-config", NS).object["stringData"]["s3.json"])
    assert [i["name"] for i in config["identities"]] == ["mlplatform"]
    assert len(store(two)["metadata"]["annotations"]["mlplatform.io/s3-config-sha256"]) == 64
    assert two.get("PersistentVolumeClaim", "seaweedfs-data", NS).retain_on_delete


def test_each_database_account_admits_its_job_and_component_only(platform):
    policy = platform.get("NetworkPolicy", "mysql-metadata", NS).inputs["spec"]
    assert policy["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "mysql", "app.kubernetes.io/instance": "mysql"}
    }
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": 3306, "protocol": "TCP"}]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"batch.kubernetes.io/job-name": "metadata-db-setup"}}},
        {
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "metadata-grpc-server",
                    "app.kubernetes.io/instance": "metadata-grpc-server",
                }
            }
        },
    ]
    names = {p.metadata["name"] for p in platform.of_kind("NetworkPolicy", NS)}
    assert {"mysql-ml-pipeline", "mysql-metadata", "mysql-mlflow-vision"} <= names and "mysql" not in names
    s3 = platform.get("NetworkPolicy", "seaweedfs", NS).inputs["spec"]["ingress"][0]
    assert s3["ports"] == [{"port": 8333, "protocol": "TCP"}]
    assert all("namespaceSelector" not in peer for peer in s3["from"])


def test_everything_in_the_platform_namespace_waits_for_it(platform):
    ns = platform.get("Namespace", NS)
    assert ns.retain_on_delete
    inside = [r for r in platform.objects if r.metadata.get("namespace") == NS]
    assert inside and all(ns.urn in r.dependencies for r in inside)


def test_each_team_key_is_scoped_to_that_team_whatever_the_file_order(evaluate):
    """Regression: identities were once paired with keys by sorted name, not by the team's own keys."""
    from tests.conftest import team

    result = evaluate({"a.yaml": team("zulu"), "b.yaml": team("alpha"), "c.yaml": team("mike")})
    for name in ("zulu", "alpha", "mike"):
        keys = result.get("Secret", "object-store-credentials", name).object["stringData"]
        found = identity(result, name)
        assert found["name"] == f"team-{name}"
        assert found["credentials"] == [{"access_key": keys["accesskey"], "secret_key": keys["secretkey"]}]
        assert found["actions"][0] == f"Read:mlpipeline/private-artifacts/{name}/*"


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
