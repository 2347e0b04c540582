"""The one place where rendered object dicts become typed pulumi_kubernetes resources.

Namespaces and CustomResourceDefinitions of a batch are registered first; every other object
depends on its own Namespace and CRD explicitly (and on whatever the caller adds), so Pulumi never
races a Namespace or a CRD. Resource names are stable: ``<prefix>:<namespace>/<name>`` for
namespaced objects and ``<prefix>:<name>`` for cluster-scoped ones (the type tells kinds apart).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import reduce

import pulumi
import pulumi_kubernetes

# apiVersion/kind -> module:class of the typed pulumi_kubernetes class. Only kinds listed here
# (or custom resources, whose group is not a Kubernetes one) may be rendered.
_TYPED = {
    ("v1", "Namespace"): "core.v1:Namespace",
    ("v1", "ServiceAccount"): "core.v1:ServiceAccount",
    ("v1", "Secret"): "core.v1:Secret",
    ("v1", "ConfigMap"): "core.v1:ConfigMap",
    ("v1", "Service"): "core.v1:Service",
    ("v1", "PersistentVolumeClaim"): "core.v1:PersistentVolumeClaim",
    ("v1", "ResourceQuota"): "core.v1:ResourceQuota",
    ("v1", "LimitRange"): "core.v1:LimitRange",
    ("apps/v1", "Deployment"): "apps.v1:Deployment",
    ("apps/v1", "StatefulSet"): "apps.v1:StatefulSet",
    ("apps/v1", "DaemonSet"): "apps.v1:DaemonSet",
    ("batch/v1", "Job"): "batch.v1:Job",
    ("batch/v1", "CronJob"): "batch.v1:CronJob",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "rbac.v1:ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "rbac.v1:ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "Role"): "rbac.v1:Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rbac.v1:RoleBinding",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networking.v1:NetworkPolicy",
    ("networking.k8s.io/v1", "Ingress"): "networking.v1:Ingress",
    ("policy/v1", "PodDisruptionBudget"): "policy.v1:PodDisruptionBudget",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "autoscaling.v2:HorizontalPodAutoscaler",
    ("scheduling.k8s.io/v1", "PriorityClass"): "scheduling.v1:PriorityClass",
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): "apiextensions.v1:CustomResourceDefinition",
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ): "admissionregistration.v1:MutatingWebhookConfiguration",
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ): "admissionregistration.v1:ValidatingWebhookConfiguration",
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    ): "admissionregistration.v1:ValidatingAdmissionPolicy",
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
    ): "admissionregistration.v1:ValidatingAdmissionPolicyBinding",
}
_KUBERNETES_GROUP = re.compile(r"(^|\.)k8s\.io$|^(apps|batch|policy|autoscaling)$")
_FIRST = {"Namespace", "CustomResourceDefinition"}
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def _typed_class(api_version: str, kind: str) -> type | None:
    target = _TYPED.get((api_version, kind))
    if target is None:
        group = api_version.rpartition("/")[0]
        if not group or _KUBERNETES_GROUP.search(group):
            raise ValueError(f"{api_version} {kind} is not a kind this project registers; add it to library/k8s.py")
        return None  # a custom resource
    module, _, cls = target.partition(":")
    # pulumi_kubernetes loads its API group packages lazily, on first attribute access.
    return getattr(reduce(getattr, module.split("."), pulumi_kubernetes), cls)


def preload() -> None:
    """Import every typed class now (benchmarks time registration, not first imports)."""
    for api_version, kind in _TYPED:
        _typed_class(api_version, kind)


def object_key(obj: dict) -> tuple[str, str, str]:
    """(kind, namespace or "", name) of an object dict."""
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace", ""), meta["name"]


def resource_name(prefix: str, obj: dict) -> str:
    """The stable Pulumi name of an object: `<prefix>:<namespace>/<name>` or `<prefix>:<name>`."""
    _, namespace, name = object_key(obj)
    return f"{prefix}:{namespace}/{name}" if namespace else f"{prefix}:{name}"


def typed_args(obj: dict) -> tuple[type, dict]:
    """The pulumi_kubernetes class of an object dict and the keyword arguments to construct it."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    cls = _typed_class(api_version, kind)
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if cls is None:
        from pulumi_kubernetes.apiextensions import CustomResource

        extra = set(fields) - {"metadata", "spec"}
        if extra:
            raise ValueError(f"custom resource {kind}: only metadata and spec are supported, got {sorted(extra)}")
        return CustomResource, {"api_version": api_version, "kind": kind, **fields}
    return cls, {_SNAKE.sub("_", k).lower(): v for k, v in fields.items()}


# Objects Pulumi should not wait on after creating them. A Service is ready as soon as it exists;
# what it fronts is awaited through its Deployment or StatefulSet. (Pulumi's Service await polls
# for endpoints on a 10-second cycle, which put ~20 s of idle time on the install's critical path.)
# An Ingress is awaited until a controller publishes its address, which the platform does not own:
# with no controller (or one that is slow to provision a cloud load balancer) `up` would hang.
_NO_AWAIT = {"Service", "Ingress"}


def register(obj: dict, prefix: str, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register one object dict as its typed pulumi_kubernetes resource."""
    if obj["kind"] in _NO_AWAIT:
        meta = obj.setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), "pulumi.com/skipAwait": "true"}
    cls, kwargs = typed_args(obj)
    return cls(resource_name(prefix, obj), opts=opts, **kwargs)


def apply(
    objects: Iterable[dict],
    prefix: str,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource | None] = (),
    options: Callable[[dict], pulumi.ResourceOptions | None] | None = None,
    pods_wait_for: Sequence[pulumi.Resource | None] = (),
) -> dict[tuple[str, str, str], pulumi.CustomResource]:
    """Register a batch of objects under `parent`; return them by (kind, namespace, name).

    Namespaces and CRDs of the batch go first and everything else depends on them and on
    `depends_on`. `pods_wait_for`: what only the batch's workloads (Deployments, StatefulSets, Jobs, ...)
    wait for, such as the backing services they connect to; configuration objects need not wait, and
    every dependency is a URN stored with each resource in the state. `options(obj)` may add
    per-object options (retain_on_delete, ...). A None in `depends_on` is a resource of another stack
    (a team's stack waits for the platform's through `tools.stacks`, which applies the platform's first).
    """
    objects = list(objects)
    depends_on = [d for d in depends_on if d is not None]
    pods_wait_for = [d for d in pods_wait_for if d is not None]
    created: dict[tuple[str, str, str], pulumi.CustomResource] = {}

    def opts_for(obj: dict, deps: list[pulumi.Resource]) -> pulumi.ResourceOptions:
        base = pulumi.ResourceOptions(parent=parent, depends_on=deps)
        extra = options(obj) if options else None
        return pulumi.ResourceOptions.merge(base, extra) if extra else base

    first = [o for o in objects if o["kind"] in _FIRST]
    rest = [o for o in objects if o["kind"] not in _FIRST]
    for obj in first:
        key = object_key(obj)
        if key in created:
            raise ValueError(f"{prefix}: {key} is rendered twice")
        created[key] = register(obj, prefix, opts_for(obj, list(depends_on)))
    for obj in rest:
        key = object_key(obj)
        if key in created:
            raise ValueError(f"{prefix}: {key} is rendered twice")
        pods = pods_wait_for if obj["kind"] in _WORKLOADS else []
        waits = [*depends_on, *pods, *_needed_first(obj, created)]
        created[key] = register(obj, prefix, opts_for(obj, waits))
    return created


_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def _needed_first(obj: dict, first: dict[tuple[str, str, str], pulumi.CustomResource]) -> list[pulumi.Resource]:
    """What `obj` must wait for among a batch's Namespaces and CRDs: its own namespace, and the CRD of
    its kind. (Every object of a batch depending on all of them stored up to 30 dependencies per
    resource in the state, each a full URN, for no ordering the API server needs.)"""
    namespace = obj.get("metadata", {}).get("namespace")
    group = obj["apiVersion"].rpartition("/")[0]
    needed = []
    for (kind, _, name), resource in first.items():
        if kind == "Namespace" and name == namespace:
            needed.append(resource)
        elif kind == "CustomResourceDefinition" and group and name.endswith(f".{group}"):
            needed.append(resource)
    return needed


def workload_labels(name: str, component: str) -> tuple[dict[str, str], dict[str, str]]:
    """(selector, labels) of workload `name` of `component`: the recommended app.kubernetes.io labels."""
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
    return selector, {**selector, "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": "mlplatform"}


def retain_volumes(obj: dict) -> pulumi.ResourceOptions | None:
    """Claims hold the data: Pulumi never deletes them, not even on destroy (an `options` for `apply`)."""
    return pulumi.ResourceOptions(retain_on_delete=True) if obj["kind"] == "PersistentVolumeClaim" else None


def retain_definitions(obj: dict) -> pulumi.ResourceOptions | None:
    """A component's CRDs hold the teams' own objects (notebooks, experiments, training jobs): deleting a
    CRD deletes every one of them, so turning the component off or destroying the stack leaves the CRDs
    in place (an `options` for `apply`; a user deletes them by hand, README Settings)."""
    return pulumi.ResourceOptions(retain_on_delete=True) if obj["kind"] == "CustomResourceDefinition" else None
