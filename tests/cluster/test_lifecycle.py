"""The vanilla platform's whole life on a real control plane, in order: install, change teams,
interrupt and converge, destroy. Each step asserts on the cluster and on Pulumi's plan/state."""

from __future__ import annotations

import base64
import json

import pytest

from tests.cluster.conftest import Project, interrupt, without_workbench

pytestmark = pytest.mark.cluster

STATEFUL = (
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:apps/v1:StatefulSet",
    "random:index/randomPassword:RandomPassword",
)
NS = "kubeflow"
TRACKING = "kubeflow-mlflow"
KEPT_CLAIMS: dict[str, str] = {}
"""Claim name -> uid before `pulumi destroy` (the claims must survive it and be adopted again)."""


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("project"), cluster, "cluster")
    # The workbench has its own install (test_workbench.py, turned off there too); here, six updates
    # of everything else.
    without_workbench(project)
    project.write_team("alpha", members=[{"email": "a1@example.com", "role": "edit"}], quota={"cpu": "8"})
    project.write_team("beta", members=[{"email": "b1@example.com", "role": "view"}])
    project.write_team("gamma")
    return project


def rolled_out(project: Project, kind: str, namespace: str) -> list[str]:
    items = json.loads(project.kubectl("get", kind, "-n", namespace, "-o", "json").stdout)["items"]
    for item in items:
        name = item["metadata"]["name"]
        project.kubectl("rollout", "status", f"{kind}/{name}", "-n", namespace, "--timeout=120s")
    return [i["metadata"]["name"] for i in items]


def test_up_with_three_teams(project):
    project.up()
    deployments = rolled_out(project, "deployment", NS)
    assert {
        "ml-pipeline",
        "ml-pipeline-gateway",
        "ml-pipeline-ui",
        "workflow-controller",
        "metadata-grpc-deployment",
    } <= set(deployments)
    assert not [d for d in deployments if d.startswith("mlflow-")]  # the servers have a namespace of their own
    assert set(rolled_out(project, "deployment", TRACKING)) == {"mlflow-alpha", "mlflow-beta", "mlflow-gamma"}
    assert set(rolled_out(project, "statefulset", NS)) == {"mysql", "seaweedfs"}
    assert set(rolled_out(project, "deployment", "kubeflow-auth")) == {"dex", "oauth2-proxy"}  # the sign-in
    for team in ("alpha", "beta", "gamma"):
        assert set(rolled_out(project, "deployment", team)) == {"ml-pipeline-ui-artifact"}
        # the API server's address as the cluster publishes it (tools/cluster/controlplane.py API_ENDPOINT)
        api = project.kubectl(
            "get", "networkpolicy", "kubernetes-api", "-n", team, "-o", "jsonpath={.spec.egress[0].to[*].ipBlock.cidr}"
        ).stdout
        assert api == "192.0.2.1/32"
        assert project.exists("resourcequota", "kf-resource-quota", team)
        assert project.exists("networkpolicy", "team-isolation", team)
        assert project.exists("networkpolicy", "default-deny", team)
        assert project.exists("networkpolicy", f"team-{team}-ml-pipeline", NS)
    assert project.exists("networkpolicy", "default-deny-ingress", NS)
    jobs = json.loads(project.kubectl("get", "jobs", "-n", NS, "-o", "json").stdout)["items"]
    assert jobs and all(j["status"].get("succeeded") == 1 for j in jobs)
    for claim in ("mysql-data", "seaweedfs-data"):
        phase = project.kubectl("get", "pvc", claim, "-n", NS, "-o", "jsonpath={.status.phase}").stdout
        assert phase == "Bound"


def test_nothing_changes_on_a_second_preview(project):
    project.pulumi("preview", "--expect-no-changes")


def test_state_holds_no_plain_text_password(project):
    secrets = json.loads(project.kubectl("get", "secrets", "-n", NS, "-o", "json").stdout)["items"]
    generated = [
        base64.b64decode(s["data"][key]).decode()
        for s in secrets
        for key in ("password", "secretkey", "accesskey")
        if key in s.get("data", {})
    ]
    assert len(generated) >= 5
    text = (
        (project.dir / "state").read_text()
        if (project.dir / "state").is_file()
        else "".join(p.read_text() for p in (project.dir / "state").rglob("*.json"))
    )
    assert text, "no state file found"
    assert not [g for g in generated if g in text]
    exported = json.dumps(project.state())
    assert not [g for g in generated if g in exported]


def test_team_changes_never_delete_or_replace_stateful_objects(project):
    project.write_team("alpha", members=[{"email": "a2@example.com", "role": "admin"}], quota={"cpu": "16", "pods": 20})
    project.write_team("delta")
    project.remove_team("gamma")
    steps = project.preview_steps()
    assert steps
    for step in steps:
        urn, op = step["urn"], step["op"]
        if not urn.split("::")[2].endswith(STATEFUL):
            continue
        assert op not in ("replace", "create-replacement", "delete-replaced"), (op, urn)
        if op == "delete":
            # Only the removed team's: its namespace, which Pulumi forgets but Kubernetes keeps,
            # and its generated keys (its MLflow database itself stays in MySQL).
            assert "gamma" in urn.rsplit("::", 1)[1], urn
            if "core/v1:Namespace" in urn:
                assert step["oldState"].get("retainOnDelete") is True, urn
            else:
                assert "RandomPassword" in urn, urn
    namespace_ops = {s["urn"].rsplit("::", 1)[1]: s["op"] for s in steps if "core/v1:Namespace" in s["urn"]}
    assert namespace_ops.get("mlplatform-team-gamma:gamma") == "delete"
    assert namespace_ops.get("mlplatform-team-delta:delta") == "create"
    assert namespace_ops.get("mlplatform-team-alpha:alpha", "same") == "same"
    project.up()
    assert project.exists("namespace", "gamma")  # retained
    assert not project.exists("rolebinding", "namespaceAdmin", "gamma")  # its platform objects are gone
    # Its allow policies go, here and in the platform namespace; the retained deny-all stays.
    assert not project.exists("networkpolicy", "team-isolation", "gamma")
    assert not project.exists("networkpolicy", "team-gamma-ml-pipeline", NS)
    assert project.exists("networkpolicy", "default-deny", "gamma")
    assert project.exists("namespace", "delta") and project.exists("deployment", "mlflow-delta", TRACKING)
    hard = project.kubectl(
        "get", "resourcequota", "kf-resource-quota", "-n", "alpha", "-o", "jsonpath={.spec.hard.requests\\.cpu}"
    ).stdout
    assert hard == "16"
    project.pulumi("preview", "--expect-no-changes")


def test_interrupted_up_converges(project):
    project.write_team("epsilon")
    running = project.start_up()
    output = interrupt(running, after=lambda: project.exists("namespace", "epsilon"))
    assert running.returncode != 0, "the update finished before it could be interrupted:\n" + output[-2000:]
    assert not project.exists("deployment", "mlflow-epsilon", TRACKING), "interrupted too late to test anything"
    project.cluster.restart_apiserver(downtime=2)
    project.up()
    state = project.state()
    assert not state["deployment"].get("pending_operations"), output[-2000:]
    urns = [r["urn"] for r in state["deployment"]["resources"]]
    assert len(urns) == len(set(urns))
    assert project.exists("deployment", "mlflow-epsilon", TRACKING)
    project.pulumi("preview", "--expect-no-changes")


def claim_uids(project: Project) -> dict[str, str]:
    return {
        claim: project.kubectl("get", "pvc", claim, "-n", NS, "-o", "jsonpath={.metadata.uid}").stdout
        for claim in ("mysql-data", "seaweedfs-data")
    }


def test_destroy_keeps_team_namespaces_and_volumes(project):
    KEPT_CLAIMS.update(claim_uids(project))
    project.pulumi("destroy", "--yes", "--skip-preview")
    for namespace in ("kubeflow", "alpha", "beta", "delta", "epsilon", "gamma"):
        assert project.exists("namespace", namespace), namespace
    for claim in ("mysql-data", "seaweedfs-data"):
        assert project.exists("pvc", claim, NS), claim
    assert not project.exists("deployment", "ml-pipeline", NS)
    assert not project.exists("statefulset", "mysql", NS)
    assert not project.exists("clusterrole", "kubeflow-edit")
    assert project.state()["deployment"].get("resources") in (None, [])


def test_up_after_destroy_converges_on_the_kept_volumes(project):
    """The claims outlived the destroy with the old data (and, in MySQL, the old root password); the new
    `up` generates a new one, which the server adopts at start (--init-file, see the StatefulSet), so
    every setup Job completes. kwok runs no container: this checks the convergence and the wiring;
    tests/distributions/test_vanilla.py runs the start command itself."""
    project.up()
    assert KEPT_CLAIMS and claim_uids(project) == KEPT_CLAIMS  # the same volumes, adopted, not new ones
    assert set(rolled_out(project, "statefulset", NS)) == {"mysql", "seaweedfs"}
    assert {"ml-pipeline", "metadata-grpc-deployment"} <= set(rolled_out(project, "deployment", NS))
    for team in ("alpha", "beta", "delta", "epsilon"):
        assert set(rolled_out(project, "deployment", team)) == {"ml-pipeline-ui-artifact"}
    assert {f"mlflow-{t}" for t in ("alpha", "beta", "delta", "epsilon")} <= set(
        rolled_out(project, "deployment", TRACKING)
    )
    jobs = json.loads(project.kubectl("get", "jobs", "-n", NS, "-o", "json").stdout)["items"]
    setup = [j for j in jobs if j["metadata"]["name"].endswith("-db-setup")]
    assert len(setup) >= 2 + 4  # pipelines, metadata and one per team's MLflow
    assert all(j["status"].get("succeeded") == 1 for j in jobs), [j["metadata"]["name"] for j in jobs]
    admin = json.loads(project.kubectl("get", "secret", "mysql-admin", "-n", NS, "-o", "json").stdout)["data"]
    password = base64.b64decode(admin["password"]).decode()
    assert password in base64.b64decode(admin["init.sql"]).decode()
    sts = json.loads(project.kubectl("get", "statefulset", "mysql", "-n", NS, "-o", "json").stdout)
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    assert "--init-file=/etc/mysql-admin/init.sql" in container["command"][2]
    project.pulumi("preview", "--expect-no-changes")
