"""Katib's part of tests/cluster/test_workbench.py (which installs the workbench and runs these): a team member may
create Experiments in their team namespace and nowhere else. Team members act through impersonation (`kubectl
--as`).

No webhook server runs here (kwok runs no containers, and the API server cannot reach a Service's
address), so an Experiment a member may create stops at Katib's defaulting webhook, which shows that
RBAC admitted it and that the webhook configuration names the controller's Service and path. The
last test then lets the API server skip the unreachable webhooks (a test-only change of
failurePolicy) to show that the Experiment itself passes the CRD's schema, and a malformed one does not.
"""

from __future__ import annotations

import json

import yaml

from tests.cluster.conftest import RESTRICTED, create

EDITOR = "editor@example.com"
VIEWER = "viewer@example.com"


def experiment(name: str, low: object = "0.01") -> str:
    """An Experiment as Katib's examples write one (examples/v1beta1/hp-tuning/random.yaml), its trial
    meeting the team namespace's `restricted` Pod Security."""
    trial = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "training-container",
                            "image": "ghcr.io/kubeflow/katib/pytorch-mnist-cpu:v0.19.0",
                            "command": ["python3", "/opt/pytorch-mnist/mnist.py", "--lr=${trialParameters.lr}"],
                            "securityContext": RESTRICTED,
                        }
                    ],
                }
            }
        },
    }
    spec = {
        "objective": {"type": "maximize", "goal": 0.99, "objectiveMetricName": "accuracy"},
        "algorithm": {"algorithmName": "random"},
        "parallelTrialCount": 1,
        "maxTrialCount": 2,
        "maxFailedTrialCount": 1,
        "parameters": [{"name": "lr", "parameterType": "double", "feasibleSpace": {"min": low, "max": "0.05"}}],
        "trialTemplate": {
            "primaryContainerName": "training-container",
            "trialParameters": [{"name": "lr", "reference": "lr"}],
            "trialSpec": trial,
        },
    }
    return yaml.safe_dump(
        {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment", "metadata": {"name": name}, "spec": spec}
    )


def test_experiments_only_in_the_members_team_namespace(project):
    # another team's namespace, and a viewer of the own: refused by RBAC, before any webhook
    for user, namespace in ((EDITOR, "beta"), (VIEWER, "alpha")):
        refused = create(project, user, namespace, experiment("elsewhere"))
        assert refused.returncode != 0
        assert 'cannot create resource "experiments"' in refused.stderr and "webhook" not in refused.stderr, (
            refused.stderr
        )
    # the member's own namespace: admitted by RBAC, then sent to Katib's controller, which is not running here
    stopped = create(project, EDITOR, "alpha", experiment("mine"))
    assert stopped.returncode != 0
    assert 'failed calling webhook "defaulter.experiment.katib.kubeflow.org"' in stopped.stderr, stopped.stderr
    assert "katib-controller.kubeflow.svc:443/mutate-experiment" in stopped.stderr, stopped.stderr


def test_the_schema_admits_experiments_and_refuses_malformed_ones(project):
    # test-only: let the API server skip the webhooks nobody serves here
    for kind, hooks in (("mutatingwebhookconfiguration", 2), ("validatingwebhookconfiguration", 1)):
        ops = [
            op
            for i in range(hooks)
            for op in (
                {"op": "replace", "path": f"/webhooks/{i}/failurePolicy", "value": "Ignore"},
                {"op": "replace", "path": f"/webhooks/{i}/timeoutSeconds", "value": 1},
            )
        ]
        project.kubectl("patch", kind, "katib.kubeflow.org", "--type=json", "-p", json.dumps(ops))
    created = create(project, EDITOR, "alpha", experiment("mine"))
    assert created.returncode == 0, created.stderr
    listed = project.cluster.kubectl("get", "experiments", "--as", VIEWER, "-n", "alpha", "-o", "name", check=False)
    assert listed.stdout.split() == ["experiment.kubeflow.org/mine"], listed.stderr
    # bounds are strings in Katib's API; a number is refused by the schema, not silently dropped
    malformed = create(project, EDITOR, "alpha", experiment("numbers", low=0.01))
    assert malformed.returncode != 0
    assert "spec.parameters[0].feasibleSpace.min" in malformed.stderr, malformed.stderr
