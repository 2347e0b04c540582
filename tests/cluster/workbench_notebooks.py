"""Notebooks' part of tests/cluster/test_workbench.py (which installs the workbench and runs these): a team member
creates a Notebook (as the spawner makes it, with the PodDefault labels ticked) in their team's namespace and is
refused in another team's; the notebook's pod meets the `restricted` Pod Security level; pods of team namespaces go
through the PodDefaults webhook.

The notebook controller does not run here (kwok runs no containers), so the Notebook's pod is created
directly from the spawner's template, as the controller's StatefulSet would create it."""

from __future__ import annotations

import json

import yaml

from tests.cluster.conftest import Project

EDITOR = "editor@example.com"
TICKED = {"access-ml-pipeline": "true", "access-mlflow": "true", "access-object-store": "true"}


def spawned_notebook(project: Project, namespace: str, name: str = "nb") -> dict:
    """The Notebook the Jupyter web app makes: its template from the applied ConfigMap, filled in as the app
    does (str.format), the image and the ticked PodDefaults' labels set as its form does."""
    config = json.loads(
        project.kubectl("get", "configmap", "jupyter-web-app-config", "-n", "kubeflow", "-o", "json").stdout
    )
    text = config["data"]["notebook_template.yaml"]
    notebook = yaml.safe_load(
        text.format(name=name, namespace=namespace, serviceAccount="default-editor", creator=EDITOR)
    )
    spawner = yaml.safe_load(config["data"]["spawner_ui_config.yaml"])["spawnerFormDefaults"]
    notebook["spec"]["template"]["spec"]["containers"][0]["image"] = spawner["image"]["value"]
    notebook["metadata"]["labels"].update({label: "true" for label in spawner["configurations"]["value"]})
    return notebook


def as_member(project: Project, namespace: str, obj: dict, *verb: str):
    return project.cluster.kubectl(
        *(verb or ("create",)), "--as", EDITOR, "-n", namespace, "-f", "-", input=yaml.safe_dump(obj), check=False
    )


def test_a_team_member_creates_a_notebook_in_their_namespace_only(project):
    notebook = spawned_notebook(project, "alpha")
    assert (
        notebook["metadata"]["labels"].items() >= {"access-ml-pipeline": "true", "access-object-store": "true"}.items()
    )
    created = as_member(project, "alpha", notebook)
    assert created.returncode == 0, created.stderr
    # the team's PodDefaults are there for the spawner to offer, readable by the member
    listed = project.cluster.kubectl("get", "poddefaults", "-n", "alpha", "--as", EDITOR, "-o", "name", check=False)
    assert listed.stdout.split() == [
        "poddefault.kubeflow.org/access-ml-pipeline",
        "poddefault.kubeflow.org/access-object-store",
    ], listed.stderr
    refused = as_member(project, "beta", spawned_notebook(project, "beta"))
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower(), refused.stderr
    assert not project.exists("notebook", "nb", "beta")


def test_the_notebook_pod_meets_the_restricted_level(project):
    """Pod Security admission is the API server's, checked here in a namespace enforcing `restricted` like
    team namespaces (which call the PodDefaults webhook first, and the webhook cannot run here)."""
    project.kubectl("create", "namespace", "restricted-check")
    project.kubectl("label", "namespace", "restricted-check", "pod-security.kubernetes.io/enforce=restricted")
    spec = spawned_notebook(project, "alpha")["spec"]["template"]["spec"]
    spec.pop("serviceAccountName")  # default-editor is the team namespaces' account
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nb-0", "namespace": "restricted-check"},
        "spec": spec,
    }
    admitted = project.cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(pod), check=False)
    assert admitted.returncode == 0, admitted.stderr
    # and the check is real: upstream's template (no securityContext) is refused there
    bare = json.loads(json.dumps(pod))
    bare["metadata"]["name"] = "upstream-0"
    bare["spec"].pop("securityContext")
    bare["spec"]["containers"][0].pop("securityContext")
    refused = project.cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(bare), check=False)
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused.stderr


def test_team_pods_go_through_the_poddefaults_webhook(project):
    """A member's pod in a team namespace is sent to the webhook (failing closed: it cannot answer here),
    while the platform's own pods there are not: the pipelines artifact server rolled out."""
    spec = spawned_notebook(project, "alpha")["spec"]["template"]["spec"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nb-0", "labels": TICKED}, "spec": spec}
    sent = as_member(project, "alpha", pod)
    assert sent.returncode != 0 and "poddefaults.admission.kubeflow.org" in sent.stderr, sent.stderr
    ready = project.kubectl("get", "deployment", "ml-pipeline-ui-artifact", "-n", "alpha", "-o", "json").stdout
    assert json.loads(ready)["status"].get("readyReplicas") == 1
