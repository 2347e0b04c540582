"""Requests, limits and volume sizes of platform workloads, per platform size (manifests/sizes.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from components import manifests


@dataclass(frozen=True)
class WorkloadSize:
    """The resources of one workload's main container (and its volume, if it has one)."""

    requests: dict[str, str]
    """Container requests: cpu, memory."""
    limits: dict[str, str]
    """Container limits: cpu, memory."""
    volume: str | None = None
    """Size of the workload's persistent volume, when it has one."""

    @property
    def resources(self) -> dict[str, dict[str, str]]:
        """The container `resources` block."""
        return {"requests": dict(self.requests), "limits": dict(self.limits)}


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
        )
