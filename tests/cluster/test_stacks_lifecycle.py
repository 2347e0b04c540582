"""Team stacks on a real control plane: install, add, change and remove teams, interrupt and resume,
destroy, and the migration of a single stack, with the same guarantees as one stack."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.cluster.conftest import DEFAULT_BIN, ROOT, Project, without_workbench
from tools.stacks import Stacks, keys_from_program

pytestmark = pytest.mark.cluster


def stacks_of(project: Project) -> Stacks:
    return Stacks(project.dir, project.stack, env=project.env, pulumi=str(DEFAULT_BIN / "pulumi"), log=lambda _: None)


def uid(project: Project, kind: str, name: str, namespace: str | None = None) -> str:
    args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
    return json.loads(project.kubectl(*args).stdout)["metadata"]["uid"]


def changes(summaries: dict[str, dict]) -> dict[str, set[str]]:
    """Per stack, the operations its preview plans besides same and read."""
    return {stack: set(summary) - {"same", "read"} for stack, summary in summaries.items()}


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("split"), cluster, "split")
    project.pulumi("config", "set", "mlplatform:teamStacks", "true")
    without_workbench(project)
    project.write_team("alpha", members=[{"email": "a1@example.com", "role": "edit"}])
    project.write_team("beta")
    return project


def test_install_puts_each_team_in_its_own_stack(project):
    stacks = stacks_of(project)
    stacks.up()
    assert stacks.existing() == {"split", "split.alpha", "split.beta"}
    for team in ("alpha", "beta"):
        assert project.exists("namespace", team)
        assert project.exists("deployment", "ml-pipeline-ui-artifact", team)
        assert project.exists("deployment", f"mlflow-{team}", "kubeflow-mlflow")
        assert project.exists("job", f"s3-identity-{team}", "kubeflow")
    platform = json.loads(project.pulumi("stack", "export", "--stack", "split").stdout)["deployment"]["resources"]
    assert not [r["urn"] for r in platform if "alpha" in r["urn"] or "beta" in r["urn"]]


def test_nothing_changes_on_a_second_preview_of_everything(project):
    summaries = stacks_of(project).preview()
    assert set(summaries) == {"split", "split.alpha", "split.beta"}
    assert changes(summaries) == {"split": set(), "split.alpha": set(), "split.beta": set()}


def test_secrets_stay_encrypted_in_team_stacks(project):
    state = project.pulumi("stack", "export", "--stack", "split.alpha").stdout
    keys = json.loads(project.pulumi("stack", "export", "--stack", "split.alpha", "--show-secrets").stdout)
    secrets = [r for r in keys["deployment"]["resources"] if r["type"] == "random:index/randomPassword:RandomPassword"]
    assert secrets, "the team's object-store keys live in its stack"
    for resource in secrets:
        plain = resource["outputs"]["result"]["plaintext"].strip('"')
        assert plain not in state


def gateway_only(stacks: Stacks) -> None:
    """The platform stack's plan touches only the front door's gateway (its routes to every team)."""
    plan = json.loads(stacks.run("preview", "--json", stack="split")).get("steps", [])
    touched = {s["urn"].rsplit("::", 1)[-1] for s in plan if s["op"] not in ("same", "read")}
    assert touched <= {"mlplatform-frontdoor:kubeflow-gateway/gateway"}, touched


def test_adding_a_team_touches_only_its_stack_and_the_gateways_routes(project):
    stacks = stacks_of(project)
    project.write_team("gamma")
    planned = changes(stacks.preview(["gamma"]))
    assert planned.pop("split.gamma") == {"create"}
    # the platform's stack: the gateway's config (ConfigMap replaced, Deployment rolled), nothing else
    assert planned["split"] <= {"update", "replace"}
    gateway_only(stacks)
    stacks.up(["gamma"])  # the team's stack, after the platform's
    assert project.exists("deployment", "ml-pipeline-ui-artifact", "gamma")
    assert not any(changes(stacks.preview()).values())


def test_changing_a_team_changes_only_its_stack(project):
    stacks = stacks_of(project)
    namespace = uid(project, "namespace", "beta")
    project.write_team("beta", quota={"cpu": "6"})
    planned = changes(stacks.preview())
    assert planned.pop("split.beta") == {"update"}
    assert not any(planned.values()), planned  # a quota is not the gateway's business
    stacks.up(["beta"])
    assert uid(project, "namespace", "beta") == namespace
    quota = json.loads(project.kubectl("get", "resourcequota", "-n", "beta", "-o", "json").stdout)["items"][0]
    assert quota["spec"]["hard"]["requests.cpu"] == "6"


def test_removing_a_team_keeps_its_namespace(project):
    stacks = stacks_of(project)
    namespace = uid(project, "namespace", "gamma")
    project.remove_team("gamma")
    assert stacks.plan(None) == (["alpha", "beta"], ["gamma"])  # its stack goes, the others stay
    gateway_only(stacks)
    stacks.up()
    assert "split.gamma" not in stacks.existing()
    assert uid(project, "namespace", "gamma") == namespace  # retained
    assert project.exists("networkpolicy", "default-deny", "gamma")  # and closed
    assert not project.exists("deployment", "ml-pipeline-ui-artifact", "gamma")


def test_an_interrupted_up_resumes(project):
    project.write_team("delta")
    project.write_team("epsilon")
    command = [sys.executable, "-m", "tools.stacks", "up", "--stack", "split", "--yes", "--parallel", "1"]
    process = subprocess.Popen(
        command,
        cwd=project.dir,
        env={**project.env, "PULUMI": str(DEFAULT_BIN / "pulumi"), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not project.exists("namespace", "delta") and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
    if process.poll() is None:
        import os

        os.killpg(process.pid, signal.SIGINT)
    process.communicate(timeout=600)
    stacks = stacks_of(project)
    stacks.up(["delta", "epsilon"])
    for team in ("delta", "epsilon"):
        assert project.exists("deployment", "ml-pipeline-ui-artifact", team)
    assert not any(changes(stacks.preview(["delta", "epsilon"])).values())


def test_destroy_keeps_team_namespaces(project):
    namespaces = {t: uid(project, "namespace", t) for t in ("alpha", "beta")}
    stacks = stacks_of(project)
    stacks.destroy()
    for team, value in namespaces.items():
        assert uid(project, "namespace", team) == value
    assert not project.exists("deployment", "ml-pipeline", "kubeflow")


@pytest.fixture(scope="module")
def single(cluster, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("single"), cluster, "single")
    without_workbench(project)
    project.write_team("red", members=[{"email": "r1@example.com", "role": "edit"}])
    project.write_team("blue")
    project.up()
    return project


def test_a_single_stack_migrates_with_no_change(single):
    namespaces = {n: uid(single, "namespace", n) for n in ("red", "blue")}
    claim = uid(single, "persistentvolumeclaim", "mysql-data", "kubeflow")
    stacks = stacks_of(single)
    stacks.migrate(keys_from_program(stacks))
    assert stacks.existing() == {"single", "single.red", "single.blue"}
    # no create, update, replace or delete anywhere
    assert changes(stacks.preview()) == {"single": set(), "single.red": set(), "single.blue": set()}
    assert {n: uid(single, "namespace", n) for n in ("red", "blue")} == namespaces
    assert uid(single, "persistentvolumeclaim", "mysql-data", "kubeflow") == claim
