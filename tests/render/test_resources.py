"""Node-local scratch space is bounded: no platform pod can fill a node's disk.

Every container of every workload (init containers and sidecars included) requests and limits
ephemeral-storage, and every emptyDir has a sizeLimit within what its pod's containers may use;
in a namespace with a ResourceQuota, every container sets each resource the quota constrains.
"""

from __future__ import annotations

import pytest

from inputs.quantities import parse

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def rendered(stack: str, size: str | None):
    from tests.conftest import Platform
    from tools.evaluate import run_platform
    from tools.render import stack_config

    config, secret_keys = stack_config(stack)
    if size is not None:
        config = {**config, "mlplatform:size": size}
    return Platform(run_platform(config, stack, secret_keys))


@pytest.fixture(scope="module", params=[("vanilla", None), ("azure", None), ("vanilla", "large")], ids=str)
def stack(request):
    """The committed vanilla (small) and azure (medium, with the S3 gateway's write-through sidecar)
    stacks, and vanilla at size large."""
    return rendered(*request.param)


def workloads(platform):
    for r in platform.objects:
        if r.kind in WORKLOADS:
            pod = r.object["spec"]["template"]["spec"]
            yield r, pod, pod.get("initContainers", []) + pod["containers"]


def test_every_container_requests_and_limits_ephemeral_storage(stack):
    checked = 0
    for r, _, containers in workloads(stack):
        for c in containers:
            resources = c.get("resources", {})
            request = resources.get("requests", {}).get("ephemeral-storage")
            limit = resources.get("limits", {}).get("ephemeral-storage")
            assert request and limit, (r.urn, c["name"], resources)
            assert 0 < parse(request) <= parse(limit), (r.urn, c["name"], request, limit)
            checked += 1
    assert checked >= 15


def test_every_empty_dir_has_a_size_limit_the_pod_can_hold(stack):
    """A sizeLimit above the pod's summed ephemeral-storage limits would never be the one that holds."""
    checked = 0
    for r, pod, _ in workloads(stack):
        pod_limit = sum(parse(c["resources"]["limits"]["ephemeral-storage"]) for c in pod["containers"])
        for volume in pod.get("volumes", []):
            if "emptyDir" in volume:
                size = volume["emptyDir"].get("sizeLimit")
                assert size, (r.urn, volume["name"])
                assert 0 < parse(size) <= pod_limit, (r.urn, volume["name"], size)
                checked += 1
    assert checked >= 8


def test_quota_constrained_resources_are_set_by_every_container(stack):
    """The team's ResourceQuota (limits.ephemeral-storage among others) admits no pod whose containers
    leave one of its resources unset (unless a LimitRange fills it in): the platform's pods in team
    namespaces do not rely on the team's defaults."""
    quotas: dict[str, set[tuple[str, str]]] = {}
    for quota in stack.of_kind("ResourceQuota"):
        for key in quota.object["spec"]["hard"]:
            kind, _, resource = key.partition(".")
            if kind in ("requests", "limits") and resource in ("cpu", "memory", "ephemeral-storage"):
                quotas.setdefault(quota.metadata["namespace"], set()).add((kind, resource))
    assert any(("limits", "ephemeral-storage") in constrained for constrained in quotas.values())
    checked = 0
    for r, _, containers in workloads(stack):
        for kind, resource in quotas.get(r.metadata["namespace"], ()):
            for c in containers:
                assert resource in c["resources"].get(kind, {}), (r.urn, c["name"], f"{kind}.{resource}")
                checked += 1
    assert checked >= 3
