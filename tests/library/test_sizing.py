"""Sizing: every workload's requests, limits, scratch space and replicas come from manifests/sizes.yaml."""

from __future__ import annotations

import pytest

from components.platform import PLATFORM_NAMESPACE as NS
from components.tracking import NAMESPACE as MLFLOW_NS
from inputs.quantities import parse
from library.routes import GATEWAY_NAMESPACE as GATEWAY_NS
from library.signin import NAMESPACE as SIGNIN_NS
from library.sizing import Sizing
from tests.conftest import team

# (kind, namespace, name) of each workload sized by manifests/sizes.yaml -> (its entry, its main container)
SIZED = {
    ("StatefulSet", NS, "mysql"): ("mysql", "mysql"),
    ("StatefulSet", NS, "seaweedfs"): ("seaweedfs", "seaweedfs"),
    ("Deployment", NS, "workflow-controller"): ("workflow-controller", "workflow-controller"),
    ("Deployment", NS, "metadata-grpc-deployment"): ("metadata-grpc-server", "metadata-grpc-server"),
    ("Deployment", NS, "metadata-envoy-deployment"): ("metadata-envoy", "envoy"),
    ("Deployment", MLFLOW_NS, "mlflow-alpha"): ("mlflow", "mlflow"),
    ("Deployment", NS, "ml-pipeline"): ("ml-pipeline", "ml-pipeline-api-server"),
    ("Deployment", NS, "ml-pipeline-gateway"): ("ml-pipeline-gateway", "envoy"),
    ("Deployment", NS, "ml-pipeline-ui"): ("ml-pipeline-ui", "ml-pipeline-ui"),
    ("Deployment", NS, "ml-pipeline-persistenceagent"): (
        "ml-pipeline-persistenceagent",
        "ml-pipeline-persistenceagent",
    ),
    ("Deployment", NS, "ml-pipeline-scheduledworkflow"): (
        "ml-pipeline-scheduledworkflow",
        "ml-pipeline-scheduledworkflow",
    ),
    ("Deployment", "alpha", "ml-pipeline-ui-artifact"): ("ml-pipeline-ui-artifact", "ml-pipeline-ui-artifact"),
    ("Deployment", GATEWAY_NS, "gateway"): ("gateway", "envoy"),
    ("Deployment", SIGNIN_NS, "oauth2-proxy"): ("oauth2-proxy", "oauth2-proxy"),
    ("Deployment", SIGNIN_NS, "dex"): ("dex", "dex"),
    ("Deployment", NS, "centraldashboard"): ("centraldashboard", "centraldashboard"),
    ("Deployment", NS, "profiles-kfam"): ("profiles-kfam", "kfam"),
    ("Deployment", NS, "kubeflow-trainer-controller-manager"): ("kubeflow-trainer-controller-manager", "manager"),
    ("Deployment", NS, "jobset-controller-manager"): ("jobset-controller-manager", "manager"),
    # Notebooks
    ("Deployment", NS, "notebook-controller"): ("notebook-controller", "manager"),
    ("Deployment", NS, "jupyter-web-app"): ("jupyter-web-app", "jupyter-web-app"),
    ("Deployment", NS, "volumes-web-app"): ("volumes-web-app", "volumes-web-app"),
    ("Deployment", NS, "admission-webhook"): ("poddefaults-webhook", "admission-webhook"),
    ("Deployment", NS, "katib-controller"): ("katib-controller", "katib-controller"),
    ("Deployment", NS, "katib-db-manager"): ("katib-db-manager", "katib-db-manager"),
    ("Deployment", NS, "katib-ui"): ("katib-ui", "katib-ui"),
    # Serving
    ("Deployment", NS, "kserve-controller-manager"): ("kserve-controller", "manager"),
    ("Deployment", NS, "kserve-models-web-app"): ("kserve-models-web-app", "kserve-models-web-app"),
}


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    """The platform at each size, with one team."""
    from tests.conftest import Platform, write_profiles
    from tools.evaluate import run_platform

    folder = write_profiles(tmp_path_factory.mktemp("profiles"), {"a.yaml": team("alpha")})
    return {
        size: Platform(run_platform({"mlplatform:profilesDir": str(folder), "mlplatform:size": size}))
        for size in ("small", "medium", "large")
    }


def pod_of(platform, kind, ns, name):
    return platform.get(kind, name, ns).inputs["spec"]["template"]["spec"]


def test_every_sized_workload_is_listed(sized):
    """The table above covers every long-running workload (Jobs have fixed sizes in their templates)."""
    found = {
        (r.kind, r.metadata["namespace"], r.metadata["name"])
        for r in sized["small"].objects
        if r.kind in ("Deployment", "StatefulSet")
    }
    assert found == set(SIZED)


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_resources_and_scratch_space_follow_the_size(sized, size):
    for (kind, ns, name), (entry, container_name) in SIZED.items():
        pod = pod_of(sized[size], kind, ns, name)
        expected = Sizing(size).of(entry)
        containers = {c["name"]: c for c in pod.get("initContainers", []) + pod["containers"]}
        assert containers[container_name]["resources"] == expected.resources, (name, size)
        tmp = [v["emptyDir"] for v in pod.get("volumes", []) if v["name"] == "tmp" and "emptyDir" in v]
        assert all(t["sizeLimit"] == expected.scratch for t in tmp), (name, size, tmp)


def test_scratch_space_grows_with_the_size(sized):
    for (kind, ns, name), (_, container_name) in SIZED.items():
        sizes = []
        for size in ("small", "medium", "large"):
            (container,) = [c for c in pod_of(sized[size], kind, ns, name)["containers"] if c["name"] == container_name]
            resources = container["resources"]
            sizes.append(
                (parse(resources["requests"]["ephemeral-storage"]), parse(resources["limits"]["ephemeral-storage"]))
            )
        assert sizes[0] <= sizes[1] <= sizes[2] and sizes[0] < sizes[2], (name, sizes)


def test_mlflow_has_room_to_spool_artifacts(sized):
    """The artifact proxy holds a whole upload or download in /tmp: its scratch space is the largest of all."""
    for size, platform in sized.items():
        pod = pod_of(platform, "Deployment", MLFLOW_NS, "mlflow-alpha")
        (tmp,) = [v["emptyDir"]["sizeLimit"] for v in pod["volumes"] if v["name"] == "tmp"]
        others = [
            Sizing(size).of(entry).limits["ephemeral-storage"] for entry, _ in SIZED.values() if entry != "mlflow"
        ]
        assert parse(tmp) > max(parse(o) for o in others), size
