"""The shared module that registers rendered objects as typed pulumi_kubernetes resources."""

from __future__ import annotations

import pulumi
import pytest

from library import k8s
from tools.evaluate import run


def objects():
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}, "data": {"a": "b"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}},
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "ns"},
            "spec": {"n": 1},
        },
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "rb", "namespace": "ns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [],
        },
    ]


def test_typed_classes_stable_names_and_order():
    def program():
        parent = pulumi.ComponentResource("test:index:Parent", "p")
        k8s.apply(objects(), "p", parent, options=lambda o: pulumi.ResourceOptions(protect=o["kind"] == "Namespace"))

    regs = run(program)
    by_name = {r.name: r for r in regs}
    assert by_name["p:ns/cm"].type == "kubernetes:core/v1:ConfigMap"
    assert by_name["p:ns/w"].type == "kubernetes:example.com/v1:Widget"
    assert by_name["p:ns/rb"].inputs["roleRef"]["name"] == "view"  # camelCase top-level fields mapped
    assert by_name["p:ns"].protect and not by_name["p:ns/cm"].protect
    namespace, crd = by_name["p:ns"].urn, by_name["p:widgets.example.com"].urn  # they go first
    assert set(by_name["p:ns/w"].dependencies) == {namespace, crd}  # a Widget needs its namespace and CRD
    for name in ("p:ns/cm", "p:ns/rb"):
        assert set(by_name[name].dependencies) == {namespace}  # the others their namespace only
    for name in ("p:ns/cm", "p:ns/w", "p:ns/rb"):
        assert by_name[name].parent == regs[0].urn


def test_only_workloads_wait_for_what_pods_need():
    def program():
        parent = pulumi.ComponentResource("test:index:Parent", "p")
        before = k8s.apply(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}},
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "db", "namespace": "other"}},
            ],
            "before",
            parent,
        )
        workload = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "setup", "namespace": "other"},
            "spec": {"template": {"spec": {"containers": [], "restartPolicy": "Never"}}},
        }
        config = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "other"}}
        namespace, ready = before[("Namespace", "", "other")], before[("ConfigMap", "other", "db")]
        k8s.apply([workload, config], "after", parent, depends_on=[namespace], pods_wait_for=[ready])

    by_name = {r.name: r for r in run(program)}
    namespace, ready = by_name["before:other"].urn, by_name["before:other/db"].urn
    assert set(by_name["after:other/setup"].dependencies) == {namespace, ready}
    assert set(by_name["after:other/s"].dependencies) == {namespace}


def test_unknown_builtin_kind_is_refused():
    with pytest.raises(ValueError, match="apps/v1 ReplicaSet is not a kind this project registers"):
        k8s._typed_class("apps/v1", "ReplicaSet")


def test_duplicate_objects_are_refused():
    def program():
        parent = pulumi.ComponentResource("test:index:Parent", "p")
        k8s.apply(objects()[:1] * 2, "p", parent)

    with pytest.raises(ValueError, match="rendered twice"):
        run(program)


def test_services_are_not_awaited(platform):
    """Workloads are awaited; a Service only has to exist (see library/k8s.py)."""
    services = platform.of_kind("Service")
    assert services
    for svc in services:
        assert svc.metadata["annotations"]["pulumi.com/skipAwait"] == "true", svc.urn
    # An Ingress waits for a controller's address otherwise: with none (or a slow cloud one) `up` hangs.
    ingresses = platform.of_kind("Ingress")
    assert ingresses
    for ingress in ingresses:
        assert ingress.metadata["annotations"]["pulumi.com/skipAwait"] == "true", ingress.urn
    for deployment in platform.of_kind("Deployment"):
        assert "pulumi.com/skipAwait" not in (deployment.metadata.get("annotations") or {}), deployment.urn
