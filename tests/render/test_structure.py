"""Structural integrity of everything rendered: every reference between objects resolves.

A Service selects some pod and targets a port that pod declares; a PodDisruptionBudget selects
the pods of exactly one workload, which runs more pods than the budget keeps; every Secret, ConfigMap,
key, ServiceAccount, claim, PriorityClass and role a pod or binding names exists in the
bundle; every custom resource has its CRD; every image is pinned and follows the registry
override, including images passed as arguments or settings.
"""

from __future__ import annotations

import json
import re

import pytest

from library import images
from tests.conftest import team

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
BUILTIN_CLUSTER_ROLES = {"admin", "edit", "view", "cluster-admin"}
EXTERNAL_CRDS: set[tuple[str, str]] = set()  # (group, kind) the platform expects to be installed already


def pods(platform):
    """(namespace, workload name, pod template) of every workload."""
    for r in platform.objects:
        if r.kind in WORKLOADS:
            obj = r.object
            yield obj["metadata"]["namespace"], obj["metadata"]["name"], obj["spec"]["template"]


def containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def index(platform):
    found = {}
    for r in platform.objects:
        obj = r.object
        found[(obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
    return found


def keys_of(obj):
    return set(obj.get("data", {})) | set(obj.get("stringData", {}))


def test_every_service_selects_a_pod_and_a_declared_port(platform):
    templates = list(pods(platform))
    assert platform.of_kind("Service")
    for svc in platform.of_kind("Service"):
        spec = svc.object["spec"]
        ns = svc.metadata["namespace"]
        matching = [
            t for n, _, t in templates if n == ns and spec["selector"].items() <= t["metadata"]["labels"].items()
        ]
        assert matching, f"Service {ns}/{svc.metadata['name']} selects no pod"
        for port in spec["ports"]:
            target = port.get("targetPort", port["port"])
            declared = [
                p
                for t in matching
                for c in t["spec"]["containers"]
                for p in c.get("ports", [])
                if p.get("name") == target or p["containerPort"] == target
            ]
            assert declared, f"Service {ns}/{svc.metadata['name']} port {port['name']} targets {target!r}, not declared"


@pytest.fixture(scope="module")
def large():
    """The platform at size large (the only size with PodDisruptionBudgets), with the example profiles."""
    from tests.conftest import Platform
    from tools.evaluate import run_platform

    return Platform(run_platform({"mlplatform:size": "large"}))


def test_every_pod_disruption_budget_selects_one_workload_that_can_lose_a_pod(large):
    """A budget spanning two workloads would count one's pods for the other; one over a workload with
    no more pods than it keeps would block every node drain."""
    templates = [
        (r.metadata["namespace"], r.metadata["name"], r.object["spec"].get("replicas", 1), r.object["spec"]["template"])
        for r in large.objects
        if r.kind in WORKLOADS
    ]
    budgets = large.of_kind("PodDisruptionBudget")
    assert budgets
    for budget in budgets:
        spec = budget.object["spec"]
        ns = budget.metadata["namespace"]
        assert set(spec["selector"]) == {"matchLabels"}, budget.urn
        selected = [
            (name, replicas)
            for n, name, replicas, t in templates
            if n == ns and spec["selector"]["matchLabels"].items() <= t["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, (budget.urn, selected)
        ((_, replicas),) = selected
        assert replicas > spec["minAvailable"], budget.urn
    scaled = {(n, name) for n, name, replicas, _ in templates if replicas > 1}
    assert scaled == {(b.metadata["namespace"], b.metadata["name"]) for b in budgets}


def test_no_service_or_network_policy_selects_a_job_pod(platform):
    """Setup Jobs are not their component's server: a Service must not send it traffic, and a policy
    written for the server must not govern it (empty podSelectors, which mean every pod, aside)."""
    jobs = [
        (r.metadata["namespace"], r.object["spec"]["template"]["metadata"]["labels"]) for r in platform.of_kind("Job")
    ]
    assert jobs
    selectors = [(s.metadata["namespace"], s.urn, s.object["spec"]["selector"]) for s in platform.of_kind("Service")]
    selectors += [
        (p.metadata["namespace"], p.urn, p.object["spec"]["podSelector"].get("matchLabels") or {})
        for p in platform.of_kind("NetworkPolicy")
    ]
    for ns, urn, selector in selectors:
        for job_ns, labels in jobs:
            assert not (selector and ns == job_ns and selector.items() <= labels.items()), (urn, labels)


def test_every_reference_of_a_pod_exists(platform):
    objects = index(platform)
    checked = 0

    def need(kind, ns, name, key=None, what=""):
        nonlocal checked
        obj = objects.get((kind, ns, name))
        assert obj is not None, f"{what}: {kind} {ns}/{name} is not in the bundle"
        if key is not None:
            assert key in keys_of(obj), f"{what}: {kind} {ns}/{name} has no key {key!r}"
        checked += 1

    for ns, name, template in pods(platform):
        spec = template["spec"]
        what = f"{ns}/{name}"
        if spec.get("serviceAccountName", "default") != "default":
            need("ServiceAccount", ns, spec["serviceAccountName"], what=what)
        if "priorityClassName" in spec:
            need("PriorityClass", "", spec["priorityClassName"], what=what)
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"].get("items", [{}]):
                    need("Secret", ns, volume["secret"]["secretName"], item.get("key"), what)
            if "configMap" in volume:
                need("ConfigMap", ns, volume["configMap"]["name"], what=what)
            if "persistentVolumeClaim" in volume:
                need("PersistentVolumeClaim", ns, volume["persistentVolumeClaim"]["claimName"], what=what)
        for c in containers(spec):
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                if "secretKeyRef" in ref and not ref["secretKeyRef"].get("optional"):
                    need("Secret", ns, ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"], f"{what} {env['name']}")
                if "configMapKeyRef" in ref and not ref["configMapKeyRef"].get("optional"):
                    need("ConfigMap", ns, ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"], what)
            for source in c.get("envFrom", []):
                if "secretRef" in source:
                    need("Secret", ns, source["secretRef"]["name"], what=what)
                if "configMapRef" in source:
                    need("ConfigMap", ns, source["configMapRef"]["name"], what=what)
            for mount in c.get("volumeMounts", []):
                assert any(v["name"] == mount["name"] for v in spec.get("volumes", [])), f"{what}: {mount['name']}"
    assert checked > 50


def test_secret_references_in_settings_exist(platform):
    """Secrets named inside configuration (Argo and launcher settings) exist in that namespace with those keys."""
    objects = index(platform)
    for cm in platform.of_kind("ConfigMap"):
        ns = cm.metadata["namespace"]
        for value in cm.object.get("data", {}).values():
            for name, key in re.findall(r"name: ([\w.-]+)\n\s+key: (\w+)", value):
                assert key in keys_of(objects[("Secret", ns, name)]), (cm.urn, name, key)
            for name in re.findall(r"secretName: ([\w.-]+)", value):
                assert ("Secret", ns, name) in objects, (cm.urn, name)


def test_every_binding_refers_to_existing_roles_and_accounts(platform):
    objects = index(platform)
    for binding in platform.of_kind("RoleBinding") + platform.of_kind("ClusterRoleBinding"):
        obj = binding.object
        ref = obj["roleRef"]
        if ref["kind"] == "ClusterRole":
            assert ("ClusterRole", "", ref["name"]) in objects or ref["name"] in BUILTIN_CLUSTER_ROLES, binding.urn
        else:
            assert ("Role", obj["metadata"]["namespace"], ref["name"]) in objects, binding.urn
        for subject in obj["subjects"]:
            if subject["kind"] == "ServiceAccount":
                assert ("ServiceAccount", subject["namespace"], subject["name"]) in objects, (binding.urn, subject)


def test_aggregated_roles_have_members_and_leave_rules_to_the_controller(platform):
    roles = [r.object for r in platform.of_kind("ClusterRole")]
    for role in roles:
        # The aggregation controller owns `rules`; declaring it (even empty) makes every later
        # server-side apply conflict with it (found by the cluster tier).
        assert not ("aggregationRule" in role and "rules" in role), role["metadata"]["name"]
        for selector in role.get("aggregationRule", {}).get("clusterRoleSelectors", []):
            labels = selector["matchLabels"].items()
            assert any(labels <= (r["metadata"].get("labels") or {}).items() for r in roles), role["metadata"]["name"]


# Pods no template renders: a controller makes them at run time (notebook servers: the notebook controller
# labels each pod with its `notebook-name`, components/notebooks.py).
RUN_TIME_PODS = [{"key": "notebook-name", "operator": "Exists"}]


def test_every_network_policy_selects_pods(platform):
    templates = list(pods(platform))
    for policy in platform.of_kind("NetworkPolicy"):
        selector = policy.object["spec"]["podSelector"]
        if not selector or selector.get("matchExpressions") == RUN_TIME_PODS:
            continue  # the whole namespace, or pods made at run time
        ns = policy.metadata["namespace"]
        labels = [t["metadata"]["labels"] for n, _, t in templates if n == ns]
        if "matchLabels" in selector:
            assert any(selector["matchLabels"].items() <= lab.items() for lab in labels), policy.urn
        for expression in selector.get("matchExpressions", []):
            if expression["operator"] == "Exists":
                continue  # a label a controller sets at run time (notebook-name; Katib's suggestion pods)
            assert expression["operator"] == "In"
            for value in expression["values"]:
                assert any(lab.get(expression["key"]) == value for lab in labels), (policy.urn, value)


def test_every_custom_resource_has_its_crd(platform):
    crds = {
        (c.object["spec"]["group"], c.object["spec"]["names"]["kind"])
        for c in platform.of_kind("CustomResourceDefinition")
    }
    for r in platform.objects:
        group = r.object["apiVersion"].rpartition("/")[0]
        if (
            r.type.startswith("kubernetes:")
            and r.object["kind"] != "CustomResourceDefinition"
            and "." in group
            and not group.endswith("k8s.io")
        ):
            assert (group, r.object["kind"]) in crds | EXTERNAL_CRDS, r.urn


def test_every_image_is_from_the_catalog(platform):
    catalog = set(images.catalog().values())
    used = {c["image"] for _, _, t in pods(platform) for c in containers(t["spec"])}
    assert used and used <= catalog


@pytest.mark.parametrize("registry", ["mirror.internal:5000/ml"])
def test_registry_override_reaches_every_image_reference(evaluate, registry):
    """No upstream registry is named anywhere (container images, arguments, settings) after the override."""
    mirrored = evaluate({"a.yaml": team("alpha")}, imageRegistry=registry)
    text = json.dumps([r.object for r in mirrored.objects])
    upstream = {ref.split("/", 1)[0] for ref in images.catalog().values()}
    for host in upstream:
        assert f'"{host}/' not in text and f"={host}/" not in text, host
    for ref in images.catalog(registry).values():
        assert ref.startswith(f"{registry}/")
    assert text.count(f"{registry}/") >= 10
