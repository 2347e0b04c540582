"""Upgrading an installation: the program of an earlier release installs the platform, then this
program previews and applies over it. Nothing stateful may be deleted or replaced on the way.

UPGRADE_FROM is the last commit whose installations must upgrade in place: move it forward when a
release changes resource names on purpose (with aliases), never past a version users may run.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.cluster.conftest import Project, without_workbench

pytestmark = pytest.mark.cluster

UPGRADE_FROM = "acb4570"
"""main before the team-boundary work (issue 9): SeaweedFS 4.00, MLflow in the platform namespace."""
STATEFUL = (
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:apps/v1:StatefulSet",
    "random:index/randomPassword:RandomPassword",
)
GONE = ("delete", "replace", "create-replacement", "delete-replaced", "discard", "discard-replaced")
NS = "kubeflow"
ROOT = Path(__file__).resolve().parents[2]


def checkout(revision: str, target) -> None:
    known = subprocess.run(["git", "cat-file", "-e", f"{revision}^{{commit}}"], cwd=ROOT, capture_output=True)
    if known.returncode != 0:
        shallow = subprocess.run(
            ["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        if shallow == "true":
            print(f"\n!!! UPGRADE TEST SKIPPED: this clone is shallow and lacks {revision}", flush=True)
            pytest.skip(f"a shallow clone lacks {revision}: clone with history to run the upgrade test")
        pytest.fail(f"{revision} is not in this repository's history")
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    old = tmp_path_factory.mktemp("release")
    checkout(UPGRADE_FROM, old)
    project = Project(tmp_path_factory.mktemp("project"), cluster, "upgrade", source=old)
    project.write_team("alpha", members=[{"email": "a1@example.com", "role": "edit"}])
    project.write_team("beta")
    return project


def claims(project: Project) -> dict[str, str]:
    items = json.loads(project.kubectl("get", "pvc", "-n", NS, "-o", "json").stdout)["items"]
    return {i["metadata"]["name"]: i["metadata"]["uid"] for i in items}


def test_the_earlier_release_installs(project):
    project.up()
    assert set(claims(project)) == {"mysql-data", "seaweedfs-data"}
    assert project.exists("deployment", "mlflow-alpha", NS)  # where that release ran it


def test_upgrading_deletes_and_replaces_nothing_stateful(project):
    before = claims(project)
    namespaces = {
        t: project.kubectl("get", "namespace", t, "-o", "jsonpath={.metadata.uid}").stdout for t in ("alpha", "beta")
    }
    project.use_program(ROOT)
    without_workbench(project)  # (keys the earlier release does not declare; test_lifecycle installs them)
    steps = project.preview_steps()
    lost = [(s["op"], s["urn"]) for s in steps if s["op"] in GONE and s["urn"].split("::")[-2].endswith(STATEFUL)]
    assert not lost, lost
    # the preview does show deletions where they are meant: the stateless MLflow server leaves kubeflow
    moved = [s["urn"] for s in steps if s["op"] == "delete" and "kubernetes:apps/v1:Deployment::" in s["urn"]]
    assert [u for u in moved if u.endswith(f"{NS}/mlflow-alpha")], moved
    project.up()
    assert claims(project) == before  # the same volumes, not new ones
    for team, uid in namespaces.items():
        assert project.kubectl("get", "namespace", team, "-o", "jsonpath={.metadata.uid}").stdout == uid
    assert project.exists("deployment", "mlflow-alpha", "kubeflow-mlflow")
    assert not project.exists("deployment", "mlflow-alpha", NS)
    project.pulumi("preview", "--expect-no-changes")
