"""Security properties of everything rendered: Pod Security, pinned images, no secret leaks."""

from __future__ import annotations

import pytest

from components.platform import PLATFORM_NAMESPACE
from library.routes import GATEWAY_NAMESPACE
from tests.conftest import team
from tools.evaluate import contains_secret

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def pod_specs(platform, namespace=None):
    for r in platform.objects:
        if r.kind in WORKLOADS and (namespace is None or r.metadata.get("namespace") == namespace):
            yield r, r.object["spec"]["template"]["spec"]


def platform_pod_specs(platform):
    """Pods the platform runs: everything in its namespace, and its workloads in team namespaces (MLflow, ...)."""
    for r, pod in pod_specs(platform):
        ours = r.object["spec"]["template"]["metadata"].get("labels", {}).get("app.kubernetes.io/part-of")
        if r.metadata["namespace"] == PLATFORM_NAMESPACE or ours == "mlplatform":
            yield r, pod


def test_platform_pods_meet_the_restricted_pod_security_standard(platform):
    checked = 0
    for r, pod in platform_pod_specs(platform):
        pod_ctx = pod.get("securityContext", {})
        assert pod_ctx.get("runAsNonRoot") is True, r.urn
        assert pod_ctx.get("seccompProfile", {}).get("type") == "RuntimeDefault", r.urn
        assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), r.urn
        assert not any("hostPath" in v for v in pod.get("volumes", [])), r.urn
        for c in pod.get("initContainers", []) + pod["containers"]:
            ctx = c.get("securityContext", {})
            assert ctx.get("allowPrivilegeEscalation") is False, (r.urn, c["name"])
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], (r.urn, c["name"])
            assert not ctx.get("privileged"), (r.urn, c["name"])
            assert ctx.get("readOnlyRootFilesystem") is True, (r.urn, c["name"])
            assert c["resources"]["requests"] and c["resources"]["limits"], (r.urn, c["name"])
            checked += 1
    assert checked >= 2


def test_service_account_tokens_only_where_needed(platform):
    for r, pod in pod_specs(platform, PLATFORM_NAMESPACE):
        if r.metadata["name"] in ("mysql", "seaweedfs"):
            assert pod["automountServiceAccountToken"] is False, r.urn


def test_secret_values_only_in_secrets(platform):
    for r in platform.objects:
        if r.kind != "Secret":
            assert not contains_secret(r.inputs), r.urn


def test_every_namespace_has_pod_security_labels(platform):
    for ns in platform.of_kind("Namespace"):
        labels = ns.metadata["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] in ("baseline", "restricted"), ns.urn
        assert labels["pod-security.kubernetes.io/audit"] == "restricted", ns.urn


def exposed(objects) -> set[tuple[str, str, str]]:
    """(kind, namespace, name) of every object dict that takes traffic from outside the cluster: Ingresses,
    Services of another type than ClusterIP (or with external IPs), pods on the node's network or ports."""
    found = set()
    for obj in objects:
        kind, meta = obj["kind"], obj["metadata"]
        where = (meta.get("namespace", ""), meta["name"])
        if kind == "Ingress":
            found.add(("Ingress", *where))
        elif kind == "Service" and (
            obj["spec"].get("type", "ClusterIP") != "ClusterIP" or obj["spec"].get("externalIPs")
        ):
            found.add((f"Service {obj['spec'].get('type', 'ClusterIP')}", *where))
        elif kind in WORKLOADS:
            pod = obj["spec"]["template"]["spec"]
            ports = [p for c in pod.get("initContainers", []) + pod["containers"] for p in c.get("ports", [])]
            if pod.get("hostNetwork") or any("hostPort" in p for p in ports):
                found.add(("host network", *where))
    return found


@pytest.mark.parametrize("stack", ["vanilla", "aws", "azure"])
def test_only_the_gateway_is_exposed_behind_one_ingress(stack):
    from tests.conftest import Platform
    from tools.evaluate import run_platform
    from tools.render import stack_config

    config, secret_keys = stack_config(stack)
    objects = (r.object for r in Platform(run_platform(config, stack, secret_keys)).objects)
    assert exposed(objects) == {("Ingress", GATEWAY_NAMESPACE, "gateway")}


def test_only_the_gateway_is_exposed_as_a_load_balancer(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, entry="loadBalancer")
    assert exposed(r.object for r in rendered.objects) == {("Service LoadBalancer", GATEWAY_NAMESPACE, "gateway")}


def test_the_exposure_check_finds_each_way_out():
    pod = {"containers": [{"name": "c", "ports": [{"containerPort": 1}]}]}
    objects = [
        {"kind": "Service", "metadata": {"namespace": "a", "name": "plain"}, "spec": {}},
        {"kind": "Service", "metadata": {"namespace": "a", "name": "np"}, "spec": {"type": "NodePort"}},
        {"kind": "Service", "metadata": {"namespace": "a", "name": "ip"}, "spec": {"externalIPs": ["1.2.3.4"]}},
        {"kind": "Deployment", "metadata": {"namespace": "a", "name": "ok"}, "spec": {"template": {"spec": pod}}},
        {
            "kind": "Deployment",
            "metadata": {"namespace": "a", "name": "hn"},
            "spec": {"template": {"spec": {**pod, "hostNetwork": True}}},
        },
        {
            "kind": "Job",
            "metadata": {"namespace": "a", "name": "hp"},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [{"hostPort": 80}]}]}}},
        },
    ]
    assert exposed(objects) == {
        ("Service NodePort", "a", "np"),
        ("Service ClusterIP", "a", "ip"),
        ("host network", "a", "hn"),
        ("host network", "a", "hp"),
    }


def test_no_secret_reaches_a_command_line(platform):
    """Kubernetes expands `$(VAR)` in command and args into the process's argv, which every user of the
    node can read (/proc/<pid>/cmdline, `ps`): a variable holding a Secret's value, or built from one,
    must reach the process through its environment or a file, never through an argument."""
    checked = 0
    for r, pod in pod_specs(platform):
        for c in pod.get("initContainers", []) + pod["containers"]:
            tainted: set[str] = set()
            for env in c.get("env", []):  # in order: a variable may only refer to those before it
                from_secret = "secretKeyRef" in env.get("valueFrom", {})
                if from_secret or any(f"$({name})" in env.get("value", "") for name in tainted):
                    tainted.add(env["name"])
            for source in c.get("envFrom", []):
                assert "secretRef" not in source, (r.urn, c["name"], "unknown variables from a Secret")
            argv = [*c.get("command", []), *c.get("args", [])]
            leaks = [(name, arg) for name in tainted for arg in argv if f"$({name})" in arg]
            assert not leaks, (r.urn, c["name"], leaks)
            checked += bool(tainted)
    assert checked >= 3
