"""Serving's part of tests/cluster/test_workbench.py (which installs the workbench and runs these): KServe's objects
applied and its workloads rolled out, and a team member may create an InferenceService in their team's namespace
and in no other. Team members act through impersonation (`kubectl --as`).

The KServe controller is not built here (kwok runs no container, and the Go module proxy refuses
github.com/kserve/kserve), so its webhooks cannot answer, and with upstream's failurePolicy Fail every
InferenceService create is refused at KServe's defaulting webhook. That refusal is the proof sought: the API
server calls admission webhooks after authorization (RBAC), so an InferenceService refused *by the webhook*
named in our configuration was admitted by the team's role; in another team's namespace the same request is
refused by RBAC before any webhook. The last test lets the API server skip the unreachable webhooks (a
test-only change of failurePolicy, as the tuning part does) to show that the CRD's schema takes an
InferenceService as users write it and refuses a malformed one.
"""

from __future__ import annotations

import json

import yaml

from tests.cluster.conftest import Project, can, create

EDITOR = "modeller@example.com"
VIEWER = "viewer@example.com"
OTHER = "other@example.com"
ISVCS = "inferenceservices.serving.kserve.io"
NS = "kubeflow"


def isvc(name: str, **predictor) -> str:
    body = {
        "serviceAccountName": "default-serving",
        "model": {
            "modelFormat": {"name": "sklearn"},
            "storageUri": "s3://mlpipeline/private-artifacts/alpha/mlflow/1/abc/artifacts/model",
        },
        **predictor,
    }
    return yaml.safe_dump(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": name},
            "spec": {"predictor": body},
        }
    )


def get(project: Project, kind: str, name: str, namespace: str | None = None) -> dict:
    where = ("-n", namespace) if namespace else ()
    return json.loads(project.kubectl("get", kind, name, *where, "-o", "json").stdout)


def test_kserve_is_applied_and_rolled_out(project):
    for name in ("kserve-controller-manager", "kserve-models-web-app"):
        project.kubectl("rollout", "status", f"deployment/{name}", "-n", NS, "--timeout=120s")
    runtimes = project.kubectl("get", "clusterservingruntimes", "-o", "json")
    items = json.loads(runtimes.stdout)["items"]
    assert len(items) == 10
    for runtime in items:
        (container,) = runtime["spec"]["containers"]
        assert container["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, runtime["metadata"]
    assert project.exists("clusterstoragecontainer", "default")
    hooks = get(project, "mutatingwebhookconfiguration", "inferenceservice.serving.kserve.io")
    assert all(h["clientConfig"]["caBundle"] for h in hooks["webhooks"])
    account = get(project, "serviceaccount", "default-serving", "alpha")
    assert account["secrets"] == [{"name": "object-store-credentials"}]
    assert project.exists("secret", "object-store-credentials", "alpha")


def test_team_roles_allow_inferenceservices_in_the_team_namespace_only(project):
    assert can(project, EDITOR, "create", ISVCS, "alpha") and can(project, EDITOR, "delete", ISVCS, "alpha")
    assert not can(project, EDITOR, "create", ISVCS, "beta") and not can(project, EDITOR, "list", ISVCS, "beta")
    assert can(project, VIEWER, "list", ISVCS, "alpha") and not can(project, VIEWER, "create", ISVCS, "alpha")
    assert not can(project, OTHER, "get", ISVCS, "alpha")


def test_a_members_inferenceservice_passes_rbac_and_reaches_kserves_webhook(project):
    reached = create(project, EDITOR, "alpha", isvc("iris"))
    assert reached.returncode != 0  # no controller runs here to answer
    assert 'failed calling webhook "inferenceservice.kserve-webhook-server.defaulter"' in reached.stderr, reached.stderr
    assert "kserve-webhook-server-service.kubeflow.svc:443" in reached.stderr, reached.stderr


def test_another_teams_namespace_is_refused_before_the_webhook(project):
    for who, namespace in ((EDITOR, "beta"), (VIEWER, "alpha"), (OTHER, "alpha")):
        refused = create(project, who, namespace, isvc("iris"))
        assert refused.returncode != 0 and "forbidden" in refused.stderr.lower(), (who, refused.stderr)
        assert "webhook" not in refused.stderr, (who, refused.stderr)
    assert not project.exists("inferenceservice", "iris", "alpha")
    assert not project.exists("inferenceservice", "iris", "beta")


def test_the_schema_admits_inferenceservices_and_refuses_malformed_ones(project):
    # test-only: let the API server skip the webhooks nobody serves here
    configurations = [("mutatingwebhookconfiguration", "inferenceservice.serving.kserve.io", 2)] + [
        ("validatingwebhookconfiguration", f"{kind}.serving.kserve.io", 1)
        for kind in ("inferenceservice", "trainedmodel", "inferencegraph", "clusterservingruntime", "servingruntime")
    ]
    for kind, name, hooks in configurations:
        ops = [
            op
            for i in range(hooks)
            for op in (
                {"op": "replace", "path": f"/webhooks/{i}/failurePolicy", "value": "Ignore"},
                {"op": "replace", "path": f"/webhooks/{i}/timeoutSeconds", "value": 1},
            )
        ]
        project.kubectl("patch", kind, name, "--type=json", "-p", json.dumps(ops))
    created = create(project, EDITOR, "alpha", isvc("iris", minReplicas=1, maxReplicas=2, scaleMetric="cpu"))
    assert created.returncode == 0, created.stderr
    listed = project.cluster.kubectl("get", "inferenceservices", "--as", VIEWER, "-n", "alpha", "-o", "json")
    (stored,) = json.loads(listed.stdout)["items"]
    assert stored["spec"]["predictor"]["model"]["storageUri"].startswith("s3://mlpipeline/private-artifacts/alpha/")
    assert stored["spec"]["predictor"]["maxReplicas"] == 2
    malformed = create(project, EDITOR, "alpha", isvc("broken", minReplicas="one"))
    assert malformed.returncode != 0
    assert "spec.predictor.minReplicas" in malformed.stderr, malformed.stderr
