"""Security properties of everything rendered: Pod Security, pinned images, no secret leaks."""

from __future__ import annotations

from components.platform import PLATFORM_NAMESPACE
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


def test_nothing_is_exposed_outside_the_cluster(platform):
    for svc in platform.of_kind("Service"):
        assert svc.object["spec"].get("type", "ClusterIP") == "ClusterIP", svc.urn
    assert platform.of_kind("Ingress") == []


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
