"""Training's part of tests/cluster/test_workbench.py (which installs the workbench and runs these): a team member may
run a TrainJob in their team's namespace and in no other, and what the API server does with it. Team members act
through impersonation (`kubectl --as`).

The trainer and JobSet controllers are not built here (kwok runs no container), so their webhooks
cannot answer, and with upstream's failurePolicy Fail every TrainJob create is refused at the
trainer's validating webhook. That refusal is itself the proof sought: the API server calls
validating webhooks last, after authorization (RBAC), the CRD's schema with its defaults and CEL
rules, and mutating admission; so a TrainJob refused *by the webhook* named in our configuration was
admitted by everything the platform declares. In another team's namespace the same request is
refused by RBAC before any of that, and a TrainJob breaking a CEL rule by the schema. The webhook
servers themselves (certificates mounted, caBundle) are checked by the mock and render tiers and by
tests/cluster/test_certificate_renewal.py for the mechanism.
"""

from __future__ import annotations

import yaml

from tests.cluster.conftest import can, create

EDITOR = "trainer@example.com"
VIEWER = "viewer@example.com"
OTHER = "other@example.com"
TRAINJOBS = "trainjobs.trainer.kubeflow.org"


def trainjob(name: str, **spec) -> str:
    body = {"runtimeRef": {"name": "torch-distributed"}, "trainer": {"numNodes": 2}, **spec}
    return yaml.safe_dump(
        {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainJob", "metadata": {"name": name}, "spec": body}
    )


def test_team_roles_allow_training_jobs_in_the_team_namespace_only(project):
    assert can(project, EDITOR, "create", TRAINJOBS, "alpha") and can(project, EDITOR, "delete", TRAINJOBS, "alpha")
    assert not can(project, EDITOR, "create", TRAINJOBS, "beta") and not can(project, EDITOR, "list", TRAINJOBS, "beta")
    assert can(project, VIEWER, "list", TRAINJOBS, "alpha") and not can(project, VIEWER, "create", TRAINJOBS, "alpha")
    # nobody in a team creates JobSets directly or changes the cluster's runtimes; everyone reads them
    assert not can(project, EDITOR, "create", "jobsets.jobset.x-k8s.io", "alpha")
    assert not can(project, EDITOR, "create", "clustertrainingruntimes.trainer.kubeflow.org", None)
    assert can(project, OTHER, "list", "clustertrainingruntimes.trainer.kubeflow.org", None)
    runtime = project.cluster.kubectl("get", "clustertrainingruntime", "torch-distributed", "--as", OTHER, "-o", "yaml")
    pod = yaml.safe_load(runtime.stdout)["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]
    assert pod["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_a_members_trainjob_passes_rbac_and_the_schema_and_reaches_the_trainers_webhook(project):
    reached = create(project, EDITOR, "alpha", trainjob("mnist"))
    assert reached.returncode != 0  # no trainer runs here to answer
    assert 'failed calling webhook "validator.trainjob.trainer.kubeflow.org"' in reached.stderr, reached.stderr
    assert "kubeflow-trainer-controller-manager.kubeflow.svc" in reached.stderr, reached.stderr


def test_another_teams_namespace_and_a_broken_rule_are_refused_before_the_webhook(project):
    elsewhere = create(project, EDITOR, "beta", trainjob("mnist"))
    assert elsewhere.returncode != 0 and "forbidden" in elsewhere.stderr.lower(), elsewhere.stderr
    assert "webhook" not in elsewhere.stderr, elsewhere.stderr
    broken = create(project, EDITOR, "alpha", trainjob("broken", managedBy="someone-else"))
    assert broken.returncode != 0, broken.stderr
    assert "ManagedBy must be trainer.kubeflow.org/trainjob-controller" in broken.stderr, broken.stderr
    assert not project.exists("trainjob", "mnist", "alpha") and not project.exists("trainjob", "mnist", "beta")
