"""Benchmark on a real control plane: `pulumi up` of the vanilla platform against raw `kubectl apply`.

    python -m tools.bench_cluster [--teams 3]

Starts a local control plane (tools/cluster), then measures:
  pulumi up       from empty, with the committed example profiles (or --teams generated ones);
                  Pulumi waits until every Deployment and StatefulSet is ready and every Job done;
  pulumi preview  with nothing to change;
  pulumi up       again from empty on a fresh control plane with PULUMI_SKIP_CHECKPOINTS=true
                  (the file backend otherwise rewrites the whole state after every step; shown
                  to separate that cost, not a recommended setting);
  kubectl apply   `kubectl apply --server-side` of the same objects (as rendered, Secrets with
                  made-up values) on a second, fresh control plane, then `kubectl wait` for the same
                  readiness, so both sides end in the same state.
It prints wall seconds and the ratio up / (apply + wait). Goal: up within 2x of the raw apply.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tools" / "cluster"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from controlplane import DEFAULT_BIN, ControlPlane  # noqa: E402
from workspace import Workspace  # noqa: E402

from tools.bench_program import generate_profiles  # noqa: E402
from tools.evaluate import kubernetes_objects, run_platform  # noqa: E402
from tools.render import write  # noqa: E402

FIRST = ("Namespace", "CustomResourceDefinition")


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def ordered_manifest(folder: Path) -> str:
    """All rendered objects as one document stream, Namespaces and CRDs first."""
    documents = [yaml.safe_load(p.read_text()) for p in sorted(folder.rglob("*.yaml"))]
    documents.sort(key=lambda d: (d["kind"] not in FIRST, d["kind"] != "Namespace"))
    return yaml.safe_dump_all(documents, sort_keys=False)


def kubectl_apply_and_wait(cp: ControlPlane, manifest: str, namespaces: list[str]) -> tuple[float, float]:
    kubectl = [str(DEFAULT_BIN / "kubectl"), f"--kubeconfig={cp.kubeconfig}"]
    documents = list(yaml.safe_load_all(manifest))
    first = yaml.safe_dump_all([d for d in documents if d["kind"] in FIRST], sort_keys=False)
    rest = yaml.safe_dump_all([d for d in documents if d["kind"] not in FIRST], sort_keys=False)

    def run(*args: str, stdin: str | None = None) -> None:
        done = subprocess.run([*kubectl, *args], input=stdin, text=True, capture_output=True)
        if done.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr[-2000:]}")

    def apply_all() -> None:
        # As a person would: Namespaces and CRDs, wait until the CRDs are served, then everything else
        # (custom resources such as the teams' Profiles cannot be mapped before their CRD is established).
        run("apply", "--server-side", "--field-manager=bench", "-f", "-", stdin=first)
        run("wait", "--for=condition=Established", "crd", "--all", "--timeout=120s")
        run("apply", "--server-side", "--field-manager=bench", "-f", "-", stdin=rest)

    apply = timed(apply_all)

    def names(kind: str, ns: str) -> list[str]:
        out = subprocess.run(
            [*kubectl, "get", kind, "-n", ns, "-o", "name"], check=True, capture_output=True, text=True
        )
        return out.stdout.split()

    def wait():
        for ns in namespaces:
            for name in names("deployment", ns):
                subprocess.run(
                    [*kubectl, "wait", name, "-n", ns, "--for=condition=Available", "--timeout=600s"],
                    check=True,
                    capture_output=True,
                )
            for name in names("job", ns):
                subprocess.run(
                    [*kubectl, "wait", name, "-n", ns, "--for=condition=Complete", "--timeout=600s"],
                    check=True,
                    capture_output=True,
                )
            for name in names("statefulset", ns):
                subprocess.run(
                    [*kubectl, "rollout", "status", name, "-n", ns, "--timeout=600s"], check=True, capture_output=True
                )

    return apply, timed(wait)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=0, help="generated teams instead of the example profiles")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        profiles = ROOT / "profiles"
        if args.teams:
            profiles = tmp_path / "generated"
            generate_profiles(profiles, args.teams)

        def install(name: str, **env: str) -> tuple[float, float, int]:
            with ControlPlane(tmp_path / f"cp-{name}", handle_signals=False) as cp:
                ws = Workspace(tmp_path / name, cp, "bench")
                ws.env.update(env)
                shutil.rmtree(ws.dir / "profiles")
                shutil.copytree(profiles, ws.dir / "profiles")
                up = timed(ws.up)
                preview = timed(lambda: ws.pulumi("preview", "--expect-no-changes"))
                return up, preview, len(ws.state()["deployment"]["resources"])

        up, preview, count = install("pulumi")
        up_no_checkpoints, _, _ = install("pulumi-no-checkpoints", PULUMI_SKIP_CHECKPOINTS="true")

        registrations = run_platform({"mlplatform:profilesDir": str(profiles)}, "bench")
        rendered = tmp_path / "rendered"
        objects, _ = write(kubernetes_objects(registrations), rendered, include_secrets=True)
        manifest = ordered_manifest(rendered)
        namespaces = sorted({p.parent.name for p in rendered.rglob("*.yaml")} - {"_cluster"})
        with ControlPlane(tmp_path / "cp-kubectl", handle_signals=False) as cp:
            apply, wait = kubectl_apply_and_wait(cp, manifest, namespaces)

    raw = apply + wait
    print(f"{'measurement':<42} {'seconds':>8}")
    print(f"{'pulumi up (' + str(count) + ' resources in state)':<42} {up:>8.1f}")
    print(f"{'pulumi preview, nothing to change':<42} {preview:>8.1f}")
    print(f"{'kubectl apply --server-side (' + str(objects) + ' objects)':<42} {apply:>8.1f}")
    print(f"{'kubectl wait until the same readiness':<42} {wait:>8.1f}")
    print(f"{'ratio up / (apply + wait)':<42} {up / raw:>8.2f}")
    print(f"{'pulumi up, PULUMI_SKIP_CHECKPOINTS=true':<42} {up_no_checkpoints:>8.1f}")
    print(f"{'ratio without checkpoints':<42} {up_no_checkpoints / raw:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
