"""The workbench on a real API server: Notebooks, Katib, Training and KServe installed together with the
platform in one `pulumi up` (as a platform with everything on is), then each component's checks, which
live in its part (workbench_notebooks.py, workbench_training.py, workbench_serving.py, workbench_tuning.py:
one install for the four instead of one each), and last, turning the workbench off: the components go,
their CRDs and the teams' objects stay, and team pods no longer wait for their webhooks.

Team members act through impersonation (`kubectl --as`): in team alpha, an editor for each component's
checks and a viewer; in team beta, another team's editor.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from tests.cluster import workbench_notebooks, workbench_serving, workbench_training, workbench_tuning
from tests.cluster.conftest import RESTRICTED, WORKBENCH, Project, create

# Each part's tests. pytest runs them in the order they are bound here, which is alphabetical (ruff sorts
# these imports): each part's test that lets the API server skip its webhooks is `test_the_schema_...`,
# after the tests expecting the webhook's refusal; the module's own last test turns the workbench off.
from tests.cluster.workbench_notebooks import (  # noqa: F401
    test_a_team_member_creates_a_notebook_in_their_namespace_only,
    test_team_pods_go_through_the_poddefaults_webhook,
    test_the_notebook_pod_meets_the_restricted_level,
)
from tests.cluster.workbench_serving import (  # noqa: F401
    test_a_members_inferenceservice_passes_rbac_and_reaches_kserves_webhook,
    test_another_teams_namespace_is_refused_before_the_webhook,
    test_kserve_is_applied_and_rolled_out,
    test_team_roles_allow_inferenceservices_in_the_team_namespace_only,
    test_the_schema_admits_inferenceservices_and_refuses_malformed_ones,
)
from tests.cluster.workbench_training import (  # noqa: F401
    test_a_members_trainjob_passes_rbac_and_the_schema_and_reaches_the_trainers_webhook,
    test_another_teams_namespace_and_a_broken_rule_are_refused_before_the_webhook,
    test_team_roles_allow_training_jobs_in_the_team_namespace_only,
)
from tests.cluster.workbench_tuning import (  # noqa: F401
    test_experiments_only_in_the_members_team_namespace,
    test_the_schema_admits_experiments_and_refuses_malformed_ones,
)

pytestmark = pytest.mark.cluster

COMPONENTS = {
    # component type in the state -> its CRDs (one is enough to find them)
    "Notebooks": ("notebooks.kubeflow.org", "poddefaults.kubeflow.org"),
    "Tuning": ("experiments.kubeflow.org",),
    "Training": ("trainjobs.trainer.kubeflow.org", "jobsets.jobset.x-k8s.io"),
    "Serving": ("inferenceservices.serving.kserve.io",),
}


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("project"), cluster, "workbench")
    # Without MLflow: the workbench's checks do not use it, and each server costs a pod.
    project.pulumi("config", "set", "mlplatform:tracking", "false")
    editors = (workbench_notebooks.EDITOR, workbench_tuning.EDITOR, workbench_training.EDITOR, workbench_serving.EDITOR)
    members = [{"email": e, "role": "edit"} for e in dict.fromkeys(editors)]
    project.write_team("alpha", members=[*members, {"email": workbench_tuning.VIEWER, "role": "view"}])
    project.write_team("beta", members=[{"email": workbench_training.OTHER, "role": "edit"}])
    started = time.monotonic()
    project.up()
    print(f"\nworkbench: pulumi up {time.monotonic() - started:.0f} s; {state_figures(project)}", flush=True)
    return project


def state_figures(project: Project) -> str:
    """The state's size and each component's share, and its CRDs' (figures for the README; nothing is
    asserted about them)."""
    state = project.state()
    resources = state["deployment"]["resources"]
    shares = []
    for component in COMPONENTS:
        ours = [r for r in resources if f"mlplatform:index:{component}" in r["urn"]]
        crds = [r for r in ours if r["type"].endswith("CustomResourceDefinition")]
        shares.append(
            f"{component} {len(ours)} resources {sum(len(json.dumps(r)) for r in ours)} bytes"
            f" (CRDs {sum(len(json.dumps(r)) for r in crds)})"
        )
    return f"state {len(json.dumps(state))} bytes; " + "; ".join(shares)


def test_turning_the_workbench_off_keeps_definitions_and_team_objects(project):
    """Runs last (the parts above left a Notebook, an Experiment and an InferenceService in alpha)."""
    kept = {"notebook": "nb", "experiment": "mine", "inferenceservice": "iris"}
    assert all(project.exists(kind, name, "alpha") for kind, name in kept.items())
    for key in WORKBENCH:
        project.pulumi("config", "set", f"mlplatform:{key}", "false")
    project.up()
    for kind, name in kept.items():
        assert project.exists(kind, name, "alpha"), (kind, name)  # their CRDs stayed, so they did
    for crds in COMPONENTS.values():
        for crd in crds:
            assert project.exists("customresourcedefinition", crd), crd
    for deployment in ("notebook-controller", "katib-controller", "kubeflow-trainer-controller-manager"):
        assert not project.exists("deployment", deployment, "kubeflow"), deployment
    assert not project.exists("deployment", "kserve-controller-manager", "kubeflow")
    hooks = project.kubectl("get", "mutatingwebhookconfigurations,validatingwebhookconfigurations", "-o", "name")
    assert hooks.stdout.split() == [], hooks.stdout  # none left to refuse what they no longer serve
    # a member's pod (restricted, as the namespace enforces) is admitted: no webhook stands in its way now
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "after", "labels": {"access-ml-pipeline": "true"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "securityContext": RESTRICTED}]},
    }
    created = create(project, workbench_notebooks.EDITOR, "alpha", yaml.safe_dump(pod))
    assert created.returncode == 0, created.stderr
