"""Footprint report: CPU and memory requests and limits and volume sizes, per component and in total.

    python -m tools.footprint [--sizes small medium large]

Evaluates the platform (the committed example profiles) for each size and sums every
long-running container (replicas x requests/limits; setup Jobs are listed apart) and every
volume claim, per component. Per-team workloads (a team's tracking server, its artifact
server) are shown per team. The Kubeflow Pipelines part is compared with the use upstream
measures for the same pieces (../shared/UPSTREAM.md: 970m CPU, 3552Mi, 35 GB for KFP with
Argo, MySQL and the object store).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inputs.quantities import parse  # noqa: E402
from tools.evaluate import Registration, run_platform  # noqa: E402

UPSTREAM_KFP = {"cpu": Decimal("0.970"), "memory": Decimal(3552 * 2**20), "storage": Decimal(35 * 10**9)}
KFP_COMPONENTS = {"Pipelines", "Workflows", "Metadata", "Vanilla"}
MI = Decimal(2**20)
GI = Decimal(2**30)


@dataclass
class Usage:
    """Summed resources of a group of workloads."""

    cpu_request: Decimal = Decimal(0)
    cpu_limit: Decimal = Decimal(0)
    memory_request: Decimal = Decimal(0)
    memory_limit: Decimal = Decimal(0)
    storage: Decimal = Decimal(0)
    workloads: set[str] = field(default_factory=set)

    def add(self, other: Usage) -> None:
        for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit", "storage"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.workloads |= other.workloads


def component_of(registration: Registration, by_urn: dict[str, Registration]) -> str:
    """The component (ComponentResource type name) a resource belongs to, e.g. `Pipelines`."""
    current = registration
    while current.parent in by_urn:
        current = by_urn[current.parent]
        if current.type != "mlplatform:index:Platform":
            return current.type.rsplit(":", 1)[1]
    return "Platform"


def usage_of(obj: dict) -> Usage:
    usage = Usage(workloads={f"{obj['kind']}/{obj['metadata']['name']}"})
    if obj["kind"] == "PersistentVolumeClaim":
        usage.storage = parse(obj["spec"]["resources"]["requests"]["storage"])
        return usage
    replicas = Decimal(obj["spec"].get("replicas", 1))
    pod = obj["spec"]["template"]["spec"]
    for container in pod["containers"]:  # init containers run before, not beside, these
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            values = resources.get(kind, {})
            setattr(
                usage, f"cpu_{kind[:-1]}", getattr(usage, f"cpu_{kind[:-1]}") + replicas * parse(values.get("cpu", "0"))
            )
            memory = replicas * parse(values.get("memory", "0"))
            setattr(usage, f"memory_{kind[:-1]}", getattr(usage, f"memory_{kind[:-1]}") + memory)
    return usage


def footprint(size: str) -> tuple[dict[str, Usage], dict[str, Usage], dict[str, Usage], int]:
    """(platform usage by component, per-team usage by component, setup Jobs, team count) at `size`."""
    registrations = run_platform({"mlplatform:size": size})
    by_urn = {r.urn: r for r in registrations}
    teams = {
        r.metadata["name"]
        for r in registrations
        if r.is_kubernetes and r.kind == "Namespace" and "mlplatform.io/team" in (r.metadata.get("labels") or {})
    }
    platform: dict[str, Usage] = defaultdict(Usage)
    per_team: dict[str, Usage] = defaultdict(Usage)
    jobs: dict[str, Usage] = defaultdict(Usage)
    for r in registrations:
        if not r.is_kubernetes or r.kind not in ("Deployment", "StatefulSet", "PersistentVolumeClaim", "Job"):
            continue
        obj = r.object
        component = component_of(r, by_urn)
        labels = obj["metadata"].get("labels") or {}
        if r.kind == "Job":
            jobs[component].add(usage_of(obj))
        elif obj["metadata"].get("namespace") in teams or "mlplatform.io/team" in labels:
            per_team[component].add(usage_of(obj))
        else:
            platform[component].add(usage_of(obj))
    return platform, per_team, jobs, len(teams)


def row(name: str, u: Usage) -> str:
    return (
        f"  {name:<28} {u.cpu_request * 1000:>7.0f}m {u.cpu_limit * 1000:>7.0f}m "
        f"{u.memory_request / MI:>8.0f}Mi {u.memory_limit / MI:>8.0f}Mi {u.storage / GI:>6.0f}Gi"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "medium", "large"])
    args = parser.parse_args(argv)
    header = f"  {'component':<28} {'cpu req':>8} {'cpu lim':>8} {'mem req':>10} {'mem lim':>10} {'volumes':>8}"
    for size in args.sizes:
        platform, per_team, jobs, team_count = footprint(size)
        print(f"size {size} ({team_count} example teams)")
        print(header)
        total = Usage()
        for name in sorted(platform):
            print(row(name, platform[name]))
            total.add(platform[name])
        print(row("platform total", total))
        team_total = Usage()
        for name in sorted(per_team):
            u = per_team[name]
            each = Usage(
                *(
                    getattr(u, f) / team_count
                    for f in ("cpu_request", "cpu_limit", "memory_request", "memory_limit", "storage")
                )
            )
            print(row(f"{name} per team", each))
            team_total.add(each)
        print(row("each team adds", team_total))
        whole = Usage()
        whole.add(total)
        for name in per_team:
            whole.add(per_team[name])
        print(row(f"total with {team_count} teams", whole))
        setup = Usage()
        for u in jobs.values():
            setup.add(u)
        print(row(f"setup Jobs ({len(setup.workloads)}, run once)", setup))
        kfp = Usage()
        for name in KFP_COMPONENTS & set(platform):
            kfp.add(platform[name])
        print(
            f"  Kubeflow Pipelines part (Pipelines, Workflows, Metadata, database, object store): requests "
            f"{kfp.cpu_request * 1000:.0f}m / {kfp.memory_request / MI:.0f}Mi / {kfp.storage / 10**9:.0f} GB; "
            f"upstream measured {UPSTREAM_KFP['cpu'] * 1000:.0f}m / {UPSTREAM_KFP['memory'] / MI:.0f}Mi / "
            f"{UPSTREAM_KFP['storage'] / 10**9:.0f} GB"
        )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
