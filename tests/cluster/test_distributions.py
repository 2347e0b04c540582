"""The Kubernetes side of the aws and azure distributions on a real control plane, with the
database and bucket given as bring-your-own config (so nothing is created in a cloud)."""

from __future__ import annotations

import json

import pytest

from tests.cluster.conftest import Project, without_workbench

pytestmark = pytest.mark.cluster

NS = "kubeflow"
OWN_SERVICES = {
    "mlplatform:databaseHost": "mysql.databases.example.internal",
    "mlplatform:databaseAdminUser": "platform_admin",
    "mlplatform:objectStoreBucket": "ml-artifacts",
}
SECRETS = {
    "mlplatform:databaseAdminPassword": "byo-database-password-3f9c",
    "mlplatform:objectStoreAccessKey": "BYOACCESSKEY0001",
    "mlplatform:objectStoreSecretKey": "byo-secret-key-5b7e1d",
}
DISTRIBUTIONS = {
    "aws": {"aws:region": "eu-west-1"},
    "azure": {"mlplatform:objectStoreEndpoint": "s3.storage.example.internal:443"},
}


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_kubernetes_side_with_own_services(cluster, tmp_path, distribution):
    project = Project(tmp_path / distribution, cluster, distribution)
    without_workbench(project)
    project.write_team("alpha")
    project.write_team("beta")
    settings = {"mlplatform:distribution": distribution, **OWN_SERVICES, **DISTRIBUTIONS[distribution]}
    for key, value in settings.items():
        project.pulumi("config", "set", key, value)
    for key, value in SECRETS.items():
        project.pulumi("config", "set", "--secret", key, value)

    project.up()
    deployments = json.loads(project.kubectl("get", "deployments", "-n", NS, "-o", "json").stdout)["items"]
    assert {"ml-pipeline", "ml-pipeline-gateway", "metadata-grpc-deployment"} <= {
        d["metadata"]["name"] for d in deployments
    }
    assert project.exists("deployment", "mlflow-alpha", "kubeflow-mlflow")
    for d in deployments:
        assert d["status"].get("readyReplicas") == 1, d["metadata"]["name"]
    assert not json.loads(project.kubectl("get", "statefulsets", "-n", NS, "-o", "json").stdout)["items"]
    jobs = json.loads(project.kubectl("get", "jobs", "-n", NS, "-o", "json").stdout)["items"]
    assert jobs and all(j["status"].get("succeeded") == 1 for j in jobs)
    admin = json.loads(project.kubectl("get", "secret", "mysql-admin", "-n", NS, "-o", "json").stdout)["data"]
    import base64

    assert base64.b64decode(admin["host"]).decode() == "mysql.databases.example.internal"
    launcher = json.loads(project.kubectl("get", "configmap", "kfp-launcher", "-n", "alpha", "-o", "json").stdout)
    scheme = "s3" if distribution == "aws" else "minio"
    assert launcher["data"]["defaultPipelineRoot"] == f"{scheme}://ml-artifacts/private-artifacts/alpha/v2/artifacts"
    state = json.dumps(project.state())
    assert not [v for v in SECRETS.values() if v in state]
    project.pulumi("preview", "--expect-no-changes")
    project.pulumi("destroy", "--yes", "--skip-preview")
    assert project.exists("namespace", "alpha")
