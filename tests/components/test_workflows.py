"""Workflows: Argo's CRDs, controller, RBAC and default artifact repository."""

from __future__ import annotations

import yaml

from components.platform import PLATFORM_NAMESPACE

NS = PLATFORM_NAMESPACE


def test_crds(platform):
    crds = {c.metadata["name"]: c.object["spec"] for c in platform.of_kind("CustomResourceDefinition")}
    argo = {n: s for n, s in crds.items() if n.endswith(".argoproj.io")}
    assert set(argo) == {
        f"{p}.argoproj.io"
        for p in (
            "workflows",
            "workflowtemplates",
            "cronworkflows",
            "clusterworkflowtemplates",
            "workfloweventbindings",
            "workflowtasksets",
            "workflowtaskresults",
            "workflowartifactgctasks",
        )
    }
    assert argo["clusterworkflowtemplates.argoproj.io"]["scope"] == "Cluster"
    assert argo["workflows.argoproj.io"]["names"]["shortNames"] == ["wf"]
    assert all(s["versions"][0]["name"] == "v1alpha1" for s in argo.values())


def test_controller(platform):
    deployment = platform.get("Deployment", "workflow-controller", NS).object["spec"]["template"]["spec"]
    (container,) = deployment["containers"]
    assert container["image"] == "quay.io/argoproj/workflow-controller:v3.7.3"
    assert container["args"] == [
        "--configmap",
        "workflow-controller-configmap",
        "--executor-image",
        "quay.io/argoproj/argoexec:v3.7.3",
    ]
    assert deployment["serviceAccountName"] == "argo"
    assert deployment["priorityClassName"] == "workflow-controller"
    platform.get("PriorityClass", "workflow-controller")
    binding = platform.get("ClusterRoleBinding", "argo-binding").object
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "argo", "namespace": NS}]
    rules = platform.get("ClusterRole", "argo-cluster-role").object["rules"]
    assert not any("secrets" in r["resources"] for r in rules)  # least privilege: no Secret access


def test_default_artifact_repository(platform):
    data = platform.get("ConfigMap", "workflow-controller-configmap", NS).object["data"]
    repo = yaml.safe_load(data["artifactRepository"])
    assert repo["archiveLogs"] is True
    s3 = repo["s3"]
    assert s3["bucket"] == "mlpipeline" and s3["insecure"] is True
    assert s3["endpoint"] == f"seaweedfs.{NS}.svc.cluster.local:8333"
    assert s3["keyFormat"].startswith("private-artifacts/{{workflow.namespace}}/{{workflow.name}}/")
    assert s3["accessKeySecret"] == {"name": "object-store-credentials", "key": "accesskey"}
    executor = yaml.safe_load(data["executor"])
    assert executor["securityContext"]["runAsNonRoot"] is True
