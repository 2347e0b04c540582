"""The team boundary on a real API server: what a team member may expose, and which namespaces a
profile may take. Team members act through impersonation (`kubectl --as`), as the API server
would see them after sign-in."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.cluster.conftest import Project, without_workbench

pytestmark = pytest.mark.cluster

EDITOR = "editor@example.com"


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("project"), cluster, "boundary")
    # Without MLflow: this module is about the team namespaces, and each server costs a pod.
    project.pulumi("config", "set", "mlplatform:tracking", "false")
    without_workbench(project)
    project.write_team("alpha", members=[{"email": EDITOR, "role": "edit"}])
    project.write_team(
        "exposed", members=[{"email": EDITOR, "role": "edit"}], quota={"loadBalancers": 1, "nodePorts": 1}
    )
    project.up()
    return project


def service(name: str, **spec) -> str:
    ports = [{"port": 80, "targetPort": 8080}]
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": ports, **spec}}
    )


def create_as_member(project: Project, namespace: str, manifest: str):
    return project.cluster.kubectl("create", "--as", EDITOR, "-n", namespace, "-f", "-", input=manifest, check=False)


def test_a_team_member_may_create_in_cluster_services(project):
    created = create_as_member(project, "alpha", service("internal"))
    assert created.returncode == 0, created.stderr


@pytest.mark.parametrize(
    ("name", "spec", "says"),
    [
        ("lb", {"type": "LoadBalancer"}, "type LoadBalancer is not allowed"),
        ("np", {"type": "NodePort"}, "type NodePort is not allowed"),
        ("ext", {"externalIPs": ["203.0.113.7"]}, "spec.externalIPs is not allowed"),
        ("alias", {"type": "ExternalName", "externalName": "example.com"}, "type ExternalName is not allowed"),
    ],
)
def test_a_team_member_cannot_expose_or_intercept(project, name, spec, says):
    refused = create_as_member(project, "alpha", service(name, **spec))
    assert refused.returncode != 0
    assert "mlplatform-team-services" in refused.stderr and says in refused.stderr, refused.stderr
    assert not project.exists("service", name, "alpha")


def test_a_service_held_open_by_a_finalizer_cannot_be_changed_to_intercept(project):
    held = yaml.safe_load(service("held"))
    held["metadata"]["finalizers"] = ["example.com/hold"]
    assert create_as_member(project, "alpha", yaml.safe_dump(held)).returncode == 0
    as_member = ("--as", EDITOR, "-n", "alpha")
    project.cluster.kubectl("delete", "service", "held", "--wait=false", *as_member)
    patch = json.dumps({"spec": {"externalIPs": ["203.0.113.7"]}})
    refused = project.cluster.kubectl("patch", "service", "held", "-p", patch, *as_member, check=False)
    assert refused.returncode != 0 and "spec.externalIPs is not allowed" in refused.stderr, refused.stderr
    # removing the finalizer (what a controller does) is still allowed, and the Service goes
    released = project.cluster.kubectl(
        "patch",
        "service",
        "held",
        "--type=json",
        "-p",
        '[{"op": "remove", "path": "/metadata/finalizers"}]',
        *as_member,
        check=False,
    )
    assert released.returncode == 0, released.stderr


def test_a_profile_with_load_balancer_quota_may_create_one_but_no_external_ips(project):
    allowed = create_as_member(project, "exposed", service("public", type="LoadBalancer"))
    assert allowed.returncode == 0, allowed.stderr
    refused = create_as_member(project, "exposed", service("ext", externalIPs=["203.0.113.7"]))
    assert refused.returncode != 0 and "spec.externalIPs is not allowed" in refused.stderr, refused.stderr


def labels(project: Project, namespace: str) -> dict:
    out = project.kubectl("get", "namespace", namespace, "-o", "json").stdout
    return json.loads(out)["metadata"].get("labels", {})


def test_a_profile_naming_an_existing_namespace_fails_without_changing_it(project):
    project.kubectl("create", "namespace", "legacy")
    project.kubectl("create", "configmap", "keep-me", "-n", "legacy", "--from-literal=a=b")
    before = labels(project, "legacy")
    project.write_team("legacy")
    result = project.pulumi("up", "--yes", "--skip-preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "namespace legacy already exists and is not a team namespace" in output, output[-4000:]
    assert "profile profiles/legacy.yaml would take it over" in output, output[-4000:]
    assert labels(project, "legacy") == before
    assert not project.exists("rolebinding", "namespaceAdmin", "legacy")
    assert project.exists("configmap", "keep-me", "legacy")


def test_adopt_takes_the_existing_namespace_over(project):
    project.write_team("legacy", adopt=True)
    project.up()
    assert labels(project, "legacy")["mlplatform.io/team"] == "legacy"
    assert project.exists("rolebinding", "namespaceAdmin", "legacy")
    assert project.exists("configmap", "keep-me", "legacy")


def test_a_retained_team_namespace_comes_back_without_adopt(project):
    project.remove_team("alpha")
    project.up()
    assert project.exists("namespace", "alpha") and not project.exists("rolebinding", "namespaceAdmin", "alpha")
    project.write_team("alpha", members=[{"email": EDITOR, "role": "edit"}])
    project.up()
    assert project.exists("rolebinding", "namespaceAdmin", "alpha")
    project.pulumi("preview", "--expect-no-changes")
