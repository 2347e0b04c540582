"""A copy of the project in a scratch folder, driven with the real Pulumi CLI against a control plane.

Shared by the cluster tests (tests/cluster) and the cluster benchmark (tools/bench_cluster.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml
from controlplane import CACHE, DEFAULT_BIN, ControlPlane

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = (
    "Pulumi.yaml",
    "__main__.py",
    "requirements.txt",
    "components",
    "distributions",
    "inputs",
    "library",
    "manifests",
)


def pulumi_environment(base: dict, state: Path, passphrase: str) -> dict:
    """Environment for running the Pulumi CLI fully offline against a local file backend."""
    return {
        **base,
        "PULUMI_HOME": str(CACHE / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    }


class Workspace:
    """A copy of the project in a scratch folder, with its own stack, state and profiles."""

    def __init__(self, folder: Path, cluster: ControlPlane, stack: str, source: Path = ROOT):
        self.dir = folder
        self.cluster = cluster
        self.stack = stack
        folder.mkdir(parents=True, exist_ok=True)
        self.use_program(source)
        (folder / ".venv").symlink_to(ROOT / ".venv")
        (folder / "profiles").mkdir()
        (folder / "state").mkdir()
        self.env = pulumi_environment(cluster.env(), folder / "state", "cluster-tier-test")
        self.pulumi("stack", "init", stack)
        self.pulumi("config", "set", "mlplatform:profilesDir", "profiles")

    def use_program(self, source: Path) -> None:
        """Put the program of `source` (a checkout of any version of this project) in the folder,
        replacing the one there; the stack, its state and the profiles stay."""
        for name in PROJECT_FILES:
            target = self.dir / name
            if target.is_dir():
                shutil.rmtree(target)
            if not (source / name).exists():  # a folder an older version did not have
                continue
            if (source / name).is_dir():
                shutil.copytree(source / name, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source / name, target)

    def write_team(self, name: str, **fields) -> None:
        doc = {"name": name, "owner": f"owner@{name}.example.com", **fields}
        (self.dir / "profiles" / f"{name}.yaml").write_text(yaml.safe_dump(doc))

    def remove_team(self, name: str) -> None:
        (self.dir / "profiles" / f"{name}.yaml").unlink()

    def pulumi(self, *args: str, check: bool = True, timeout: float = 1200) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(DEFAULT_BIN / "pulumi"), *args, "--non-interactive"],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def up(self) -> subprocess.CompletedProcess:
        return self.pulumi("up", "--yes", "--skip-preview")

    def preview_steps(self) -> list[dict]:
        """The steps of `pulumi preview --json`."""
        return json.loads(self.pulumi("preview", "--json", "--diff").stdout).get("steps", [])

    def start_up(self) -> subprocess.Popen:
        return subprocess.Popen(
            [str(DEFAULT_BIN / "pulumi"), "up", "--yes", "--skip-preview", "--non-interactive"],
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def state(self) -> dict:
        return json.loads(self.pulumi("stack", "export").stdout)

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.cluster.kubectl(*args, check=check)

    def exists(self, kind: str, name: str, namespace: str | None = None) -> bool:
        args = ["get", kind, name, "-o", "name"] + (["-n", namespace] if namespace else [])
        return self.kubectl(*args, check=False).returncode == 0
