"""Benchmark of team stacks on a real control plane, side by side with raw kubectl.

    python -m tools.bench_stacks [--teams 3 20 100] [--parallel 2]

For each size N, on fresh local control planes (tools/cluster):
  up        `tools.stacks up` from empty: the platform's stack, then N team stacks (`--parallel` at a
            time), Pulumi waiting for every workload and Job as usual;
  apply     `kubectl apply --server-side` of the same objects on another fresh control plane, then
            `kubectl wait` for the same readiness (tools.bench_cluster);
  add one   `tools.stacks up --team <new>`: one more team on the platform of N teams;
  preview   `tools.stacks preview` of everything with nothing to change, against
  diff      `kubectl diff --server-side` of the same objects.
Then the peak memory (max RSS) of the program's processes under Pulumi's mocks at --memory-teams:
the platform's stack (which validates every profile) and one team's stack.
Prints seconds and the ratios the goals are written in (README "Benchmarks").
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tools" / "cluster"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from controlplane import DEFAULT_BIN, ControlPlane  # noqa: E402
from workspace import Workspace  # noqa: E402

from tools.bench_cluster import kubectl_apply_and_wait, ordered_manifest, timed  # noqa: E402
from tools.bench_program import generate_profiles  # noqa: E402
from tools.evaluate import kubernetes_objects, run_platform  # noqa: E402
from tools.render import write  # noqa: E402
from tools.stacks import Stacks  # noqa: E402

_MEMORY_PROBE = """
import json, sys
sys.path.insert(0, {root!r})
from tools.bench_program import peak_mib
from tools.evaluate import run_platform
config = json.loads(sys.argv[1])
run_platform(config, sys.argv[2], record=False)
print(peak_mib())
"""


def rendered_objects(profiles: Path, folder: Path) -> tuple[str, list[str], int]:
    """The single-stack program's objects (the same as all the stacks together), as one manifest."""
    registrations = run_platform({"mlplatform:profilesDir": str(profiles)}, "bench")
    count, _ = write(kubernetes_objects(registrations), folder, include_secrets=True)
    namespaces = sorted({p.parent.name for p in folder.rglob("*.yaml")} - {"_cluster"})
    return ordered_manifest(folder), namespaces, count


def peak_mib(profiles: Path, stack: str, **config: str) -> float:
    """Peak resident memory of one program process under the mocks."""
    values = {"mlplatform:profilesDir": str(profiles), "mlplatform:teamStacks": "true", **config}
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE.format(root=str(ROOT)), json.dumps(values), stack],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.split()[-1])


def kubectl_diff(cp: ControlPlane, manifest: str) -> None:
    """`kubectl diff --server-side` of the applied objects, as their field manager (another manager's
    dry-run apply would conflict on every field): exit 0 or 1 (differences), anything else is an error."""
    kubectl = [str(DEFAULT_BIN / "kubectl"), f"--kubeconfig={cp.kubeconfig}"]
    command = [*kubectl, "diff", "--server-side", "--field-manager=bench", "-f", "-"]
    done = subprocess.run(command, input=manifest, text=True, capture_output=True)
    if done.returncode > 1:
        raise RuntimeError(f"kubectl diff failed: {done.stderr[-2000:]}")


def measure(tmp: Path, teams: int, parallel: int) -> dict:
    profiles = tmp / f"profiles-{teams}"
    generate_profiles(profiles, teams)
    result: dict = {"teams": teams}
    with ControlPlane(tmp / f"cp-stacks-{teams}", handle_signals=False) as cp:
        ws = Workspace(tmp / f"stacks-{teams}", cp, "bench")
        shutil.rmtree(ws.dir / "profiles")
        shutil.copytree(profiles, ws.dir / "profiles")
        ws.pulumi("config", "set", "mlplatform:teamStacks", "true")
        stacks = Stacks(ws.dir, "bench", env=ws.env, pulumi=str(DEFAULT_BIN / "pulumi"), log=lambda _: None)
        result["up"] = timed(lambda: stacks.up(parallel=parallel))
        result["preview"] = timed(lambda: stacks.preview(parallel=parallel))
        ws.write_team("added")
        result["add_one"] = timed(lambda: stacks.up(["added"], parallel=parallel))
        ws.remove_team("added")
    manifest, namespaces, result["objects"] = rendered_objects(profiles, tmp / f"rendered-{teams}")
    with ControlPlane(tmp / f"cp-kubectl-{teams}", handle_signals=False) as cp:
        result["apply"], result["wait"] = kubectl_apply_and_wait(cp, manifest, namespaces)
        result["diff"] = timed(lambda: kubectl_diff(cp, manifest))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, nargs="+", default=[3, 20, 100])
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--memory-teams", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        rows = []
        for teams in args.teams:
            started = time.perf_counter()
            rows.append(measure(tmp_path, teams, args.parallel))
            print(f"# {teams} teams measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        print(
            f"{'teams':>5} {'objects':>7} {'up':>7} {'apply+wait':>10} {'ratio':>6} {'add one':>8} "
            f"{'preview':>8} {'diff':>6} {'ratio':>6}"
        )
        for r in rows:
            raw = r["apply"] + r["wait"]
            print(
                f"{r['teams']:>5} {r['objects']:>7} {r['up']:>7.1f} {raw:>10.1f} {r['up'] / raw:>6.2f} "
                f"{r['add_one']:>8.1f} {r['preview']:>8.1f} {r['diff']:>6.1f} {r['preview'] / r['diff']:>6.2f}"
            )
        if len(rows) > 1:
            print(
                f"add one team: time({rows[-1]['teams']}) / time({rows[0]['teams']}) = "
                f"{rows[-1]['add_one'] / rows[0]['add_one']:.2f}"
            )
        for teams in args.memory_teams:
            profiles = tmp_path / f"memory-{teams}"
            generate_profiles(profiles, teams)
            platform = peak_mib(profiles, "bench")
            team = peak_mib(
                profiles, "bench.team-0000", **{"mlplatform:team": "team-0000", "mlplatform:platformStack": "bench"}
            )
            print(
                f"peak memory at {teams} teams (mocks): platform stack {platform:.0f} MiB, a team stack {team:.0f} MiB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
