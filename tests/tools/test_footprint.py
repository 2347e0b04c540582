"""The footprint report: honest requests (never below upstream's measured use) and per-team scaling."""

from __future__ import annotations

import pytest

from tools.footprint import KFP_COMPONENTS, UPSTREAM_KFP, Usage, footprint, main


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_pipelines_requests_are_not_below_upstream_measured_use(size):
    platform, _, _, _ = footprint(size)
    kfp = Usage()
    for name in KFP_COMPONENTS:
        kfp.add(platform[name])
    assert kfp.cpu_request >= UPSTREAM_KFP["cpu"]
    assert kfp.memory_request >= UPSTREAM_KFP["memory"]
    assert kfp.storage >= UPSTREAM_KFP["storage"]


def test_sizes_grow():
    totals = []
    for size in ("small", "medium", "large"):
        platform, _, _, _ = footprint(size)
        total = Usage()
        for u in platform.values():
            total.add(u)
        totals.append(total)
    assert totals[0].cpu_request < totals[1].cpu_request < totals[2].cpu_request
    assert totals[0].memory_request < totals[1].memory_request < totals[2].memory_request
    assert totals[0].storage < totals[1].storage < totals[2].storage


def test_per_team_workloads_are_counted_per_team():
    _, per_team, jobs, teams = footprint("small")
    assert teams == 3
    assert len(per_team["Tracking"].workloads) == 3 and len(per_team["Pipelines"].workloads) == 1  # same name per ns
    assert {"Job/metadata-db-setup", "Job/ml-pipeline-db-setup"} <= set().union(*(j.workloads for j in jobs.values()))


def test_report_prints_every_size(capsys):
    assert main(["--sizes", "small"]) == 0
    out = capsys.readouterr().out
    assert "platform total" in out and "each team adds" in out and "upstream measured 970m" in out


def test_replicas_multiply_requests_and_limits():
    """At size large the stateless servers run two pods each: the report counts both."""
    from tools.footprint import usage_of

    one = {
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "1Gi"},
                                "limits": {"cpu": "1", "memory": "2Gi"},
                            }
                        }
                    ]
                }
            }
        },
    }
    two = {**one, "spec": {**one["spec"], "replicas": 2}}
    single, double = usage_of(one), usage_of(two)
    for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
        assert getattr(double, name) == 2 * getattr(single, name) > 0, name
