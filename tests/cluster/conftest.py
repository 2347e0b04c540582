"""The cluster tier: the real Pulumi CLI and providers against a real kube-apiserver (kwok nodes).

Tools come from tools/cluster/build.sh (the cache folder). `make test` builds them first; when
the package registries could not supply a tool, build.sh records why in the cache and this tier
is skipped with that reason, loudly. A missing tool for any other reason fails the tier.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "cluster"))

from controlplane import CACHE, DEFAULT_BIN, ControlPlane  # noqa: E402
from workspace import Workspace as Project  # noqa: E402, F401

TOOLS = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-resource-pulumi-python",  # Python dynamic resources (library/certificates.py)
    "kube-apiserver",
    "etcd",
    "kwok",
    "kubectl",
)
UNAVAILABLE = CACHE / "unavailable.txt"


WORKBENCH = ("notebooks", "tuning", "training", "serving")
"""The workbench components, on by default: a module that is not about them turns them off (each costs
pods and most of a minute of `pulumi up`; test_workbench.py installs the four together)."""


RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
"""A container securityContext meeting the `restricted` Pod Security level team namespaces enforce."""


def create(project: Project, who: str, namespace: str, manifest: str) -> subprocess.CompletedProcess:
    """`kubectl create` of `manifest` in `namespace` as the person `who` (impersonated); never raises."""
    return project.cluster.kubectl("create", "--as", who, "-n", namespace, "-f", "-", input=manifest, check=False)


def can(project: Project, who: str, verb: str, resource: str, namespace: str | None = None) -> bool:
    """Whether the API server lets `who` `verb` `resource` in `namespace` (cluster-wide when None)."""
    where = ("-n", namespace) if namespace else ()
    result = project.kubectl("auth", "can-i", verb, resource, "--as", who, *where, check=False)
    return result.stdout.strip() == "yes"


def without_workbench(project: Project, keep: tuple[str, ...] = ()) -> None:
    """Turn off every workbench component but `keep` in the project's stack."""
    for key in WORKBENCH:
        if key not in keep:
            project.pulumi("config", "set", f"mlplatform:{key}", "false")


@pytest.fixture(scope="session")
def toolchain() -> Path:
    missing = [t for t in TOOLS if not (DEFAULT_BIN / t).exists()]
    if missing and UNAVAILABLE.exists():
        reason = UNAVAILABLE.read_text().strip()
        print(f"\n!!! CLUSTER TIER SKIPPED: the package registries could not supply {missing}: {reason}", flush=True)
        pytest.skip(f"registries could not supply {missing}: {reason}")
    if missing:
        pytest.fail(
            f"cluster tools {missing} are not built in {DEFAULT_BIN}: run tools/cluster/build.sh (make test does)"
        )
    return DEFAULT_BIN


@pytest.fixture(scope="module")
def cluster(toolchain, tmp_path_factory):
    """A fresh control plane for each test module (they must not see each other's leftovers)."""
    with ControlPlane(tmp_path_factory.mktemp("controlplane"), nodes=2) as cp:
        yield cp


def interrupt(process: subprocess.Popen, after: callable, timeout: float = 600) -> str:
    """Send SIGINT to a running `pulumi up` once `after()` holds; return its output."""
    deadline = time.monotonic() + timeout
    while not after():
        if process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=600)
    return output
