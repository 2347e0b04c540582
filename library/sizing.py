"""Requests, limits, volume sizes and replicas of platform workloads, per platform size (manifests/sizes.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from library import manifests


@dataclass(frozen=True)
class WorkloadSize:
    """The resources of one workload's main container, its replicas (and its volume, if it has one)."""

    requests: dict[str, str]
    """Container requests: cpu, memory, ephemeral-storage."""
    limits: dict[str, str]
    """Container limits: cpu, memory, ephemeral-storage."""
    volume: str | None = None
    """Size of the workload's persistent volume, when it has one."""
    replicas: int = 1
    """Pods of the workload; more than one only for stateless workloads, each then with a PodDisruptionBudget."""

    @property
    def resources(self) -> dict[str, dict[str, str]]:
        """The container `resources` block."""
        return {"requests": dict(self.requests), "limits": dict(self.limits)}

    @property
    def scratch(self) -> str:
        """The `sizeLimit` of the container's /tmp emptyDir: its whole ephemeral-storage limit, since with
        a read-only root filesystem the container writes nothing else to the node but its logs."""
        return self.limits["ephemeral-storage"]


@dataclass(frozen=True)
class Sizing:
    """The sizing tier of a stack (small, medium, large)."""

    size: str

    def of(self, workload: str) -> WorkloadSize:
        """The size of `workload` (a key of manifests/sizes.yaml) at this tier."""
        table = manifests.data("sizes.yaml")
        if workload not in table:
            raise KeyError(f"manifests/sizes.yaml has no entry for workload {workload!r}")
        entry = table[workload][self.size]
        return WorkloadSize(
            requests={k: str(v) for k, v in entry["requests"].items()},
            limits={k: str(v) for k, v in entry["limits"].items()},
            volume=entry.get("volume"),
            replicas=entry.get("replicas", 1),
        )
