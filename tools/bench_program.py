"""Benchmark: the program under Pulumi's mock engine with 10, 100 and 1000 teams, against the SDK floor.

    python -m tools.bench_program [--teams 10 100 1000] [--repeat 3]

For each team count it generates that many profiles and, in fresh processes, measures:
  program  validate the config and profiles, render every template, register the platform;
  floor    register exactly the same resources (same pulumi_kubernetes classes, names, parents,
           dependencies and inputs, recorded from the program run) with no program logic at all.
It prints wall seconds (best of --repeat), peak resident memory, resources registered and the
program/floor ratio. Targets: ratio <= 1.25 at 1000 teams, linear growth, peak < 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def generate_profiles(folder: Path, count: int) -> None:
    """`count` realistic profiles: members with every role, quotas, defaults."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        name = f"team-{i:04d}"
        doc = {
            "name": name,
            "owner": f"owner{i}@example.com",
            "members": [
                {"email": f"admin{i}@example.com", "role": "admin"},
                {"email": f"dev{i}@example.com", "role": "edit"},
                {"email": f"analyst{i}@example.com", "role": "view"},
            ],
            "quota": {"cpu": "16", "memory": "64Gi", "gpu": i % 3, "storage": "200Gi", "pods": 100},
        }
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc))


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM). Not `ru_maxrss`: Linux carries the parent's resident
    size over fork and exec into it, so a child of a large process would report the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_record(profiles: str, record: str) -> dict:
    """Run the program once recording every registration, for the floor (not measured)."""
    from tools.evaluate import run_platform

    registrations = run_platform({"mlplatform:profilesDir": profiles}, "bench")
    with open(record, "wb") as f:
        pickle.dump(registrations, f)
    return {"resources": len(registrations)}


def child_program(profiles: str) -> dict:
    """Run the real program: validation, rendering, registration."""
    import components.platform  # noqa: F401  (imports are not part of the measurement)
    from library import k8s
    from tools.evaluate import run_platform

    k8s.preload()
    start = time.perf_counter()
    count = run_platform({"mlplatform:profilesDir": profiles}, "bench", record=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mib": peak_mib(), "resources": count}


def child_floor(record: str) -> dict:
    """Register the recorded resources directly with their typed classes: the SDK's own cost."""
    import pulumi
    import pulumi_random

    from library import k8s
    from tools.evaluate import reveal, run

    k8s.preload()
    with open(record, "rb") as f:
        recorded = pickle.load(f)
    prepared = []
    for r in recorded:
        slot = (r.urn, r.name, r.parent, tuple(r.dependencies), r.retain_on_delete or None, r.protect or None)
        inputs = reveal(r.inputs, pulumi.Output.secret)  # engine inputs back to SDK inputs
        if not r.custom:
            prepared.append((slot, lambda name, opts, t=r.type: pulumi.ComponentResource(t, name, None, opts), {}))
        elif r.type.startswith("random:"):
            prepared.append((slot, pulumi_random.RandomPassword, inputs))
        else:
            prepared.append((slot, *k8s.typed_args(inputs)))
    del recorded, r  # the floor holds the inputs it registers, nothing more

    def replay():
        by_urn: dict[str, pulumi.Resource] = {}
        for (urn, name, parent, dependencies, retain, protect), cls, kwargs in prepared:
            opts = pulumi.ResourceOptions(
                parent=by_urn.get(parent),
                depends_on=[by_urn[u] for u in dependencies if u in by_urn],
                retain_on_delete=retain,
                protect=protect,
            )
            by_urn[urn] = cls(name, opts=opts, **kwargs)

    start = time.perf_counter()
    count = run(replay, stack="bench", record=False)
    seconds = time.perf_counter() - start
    assert count == len(prepared), "the floor must register the same resources"
    return {"seconds": seconds, "peak_mib": peak_mib(), "resources": count}


def measure(mode: str, *args: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "tools.bench_program", "--child", mode, *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        mode, *rest = args.child
        children = {"record": child_record, "program": child_program, "floor": child_floor}
        result = children[mode](*rest)
        print(json.dumps(result))
        return 0

    print(
        f"{'teams':>6} {'resources':>9} {'program s':>9} {'floor s':>8} {'ratio':>6} "
        f"{'program MiB':>11} {'floor MiB':>9} {'s/team':>7}"
    )
    for count in args.teams:
        with tempfile.TemporaryDirectory() as tmp:
            profiles, record = Path(tmp) / "profiles", str(Path(tmp) / "record.pickle")
            generate_profiles(profiles, count)
            measure("record", str(profiles), record)
            program = min((measure("program", str(profiles)) for _ in range(args.repeat)), key=lambda m: m["seconds"])
            floor = min((measure("floor", record) for _ in range(args.repeat)), key=lambda m: m["seconds"])
        print(
            f"{count:>6} {program['resources']:>9} {program['seconds']:>9.2f} {floor['seconds']:>8.2f} "
            f"{program['seconds'] / floor['seconds']:>6.2f} {program['peak_mib']:>11.0f} "
            f"{floor['peak_mib']:>9.0f} {program['seconds'] / count:>7.4f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
