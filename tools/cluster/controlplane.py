#!/usr/bin/env python3
"""Local Kubernetes control plane for the real-cluster test tier.

Starts, on 127.0.0.1 only: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake Nodes: scheduled pods become Running, PVCs of the
default `kwok-volume` StorageClass get Bound). No kubelet, no containers.
Binaries come from tools/cluster/build.sh (${MLPLATFORM_CACHE}/bin).

Library use::

    from controlplane import ControlPlane
    with ControlPlane() as cp:            # starts and waits until usable
        env = cp.env()                     # {"KUBECONFIG": ..., "PATH": ...}
        cp.kubectl("get", "nodes")
        cp.restart_apiserver(downtime=2)   # or stop_apiserver()/start_apiserver()
    # everything stopped here (also on exceptions, SIGINT and SIGTERM)

CLI::

    python tools/cluster/controlplane.py up|down|status|restart-apiserver [--dir DIR]
    python tools/cluster/controlplane.py run [--dir DIR] -- CMD...   # up, CMD (with KUBECONFIG), down

`up` leaves the processes running (each in its own process group) and records
them in DIR/state.json; `down` stops them. Logs: DIR/logs/<component>.log.
Python 3.11 stdlib only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("MLPLATFORM_CACHE") or Path.home() / ".cache" / "mlplatform")
DEFAULT_BIN = CACHE / "bin"
DEFAULT_DIR = CACHE / "cluster"
KWOK_SHARE = CACHE / "share" / "kwok"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


class ControlPlaneError(RuntimeError):
    pass


API_ENDPOINT = "192.0.2.1"
"""The API server's address in the EndpointSlice default/kubernetes this control plane publishes."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is as good as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _kill_group(
    pid: int, expect: str | None = None, timeout: float = 15.0, popen: subprocess.Popen | None = None
) -> None:
    """SIGTERM the process group led by pid, wait, then SIGKILL whatever is left."""
    if not pid:
        return
    if expect and _alive(pid) and expect not in _cmdline(pid):
        return  # pid was reused by something else: not ours

    def gone() -> bool:
        return popen.poll() is not None if popen is not None else not _alive(pid)

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.1)
    # the leader ignored SIGTERM, or other members of its group are still around
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5)


def _versions() -> dict[str, str]:
    """The pins of tools/cluster/versions.env."""
    out = {}
    with contextlib.suppress(OSError):
        for line in (HERE / "versions.env").read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class ControlPlane:
    """A local etcd + kube-apiserver + controller-manager + scheduler + kwok."""

    def __init__(
        self,
        state_dir: str | os.PathLike | None = None,
        *,
        bin_dir: str | os.PathLike | None = None,
        nodes: int = 1,
        node_cpu: str = "64",
        node_memory: str = "256Gi",
        node_pods: str = "250",
        keep_data: bool = False,
        etcd_fsync: bool = False,
        handle_signals: bool = True,
        timeout: float = 120.0,
        log=None,
    ) -> None:
        self.dir = Path(state_dir or DEFAULT_DIR).resolve()
        self.bin = Path(bin_dir or os.environ.get("MLPLATFORM_BIN") or DEFAULT_BIN).resolve()
        self.nodes = nodes
        self.node_cpu, self.node_memory, self.node_pods = node_cpu, node_memory, node_pods
        self.keep_data = keep_data
        self.etcd_fsync = etcd_fsync
        self.handle_signals = handle_signals
        self.timeout = timeout
        self._log = log or (lambda msg: print(f"[controlplane] {msg}", file=sys.stderr, flush=True))
        self.pki = self.dir / "pki"
        self.logs = self.dir / "logs"
        self.kubeconfig = self.dir / "kubeconfig"
        self.state_file = self.dir / "state.json"
        self.ports: dict[str, int] = {}
        self.procs: dict[str, subprocess.Popen] = {}  # started by this object
        self.pids: dict[str, int] = {}  # known pids (incl. from state.json)
        self._old_handlers: dict[int, object] = {}

    # ------------------------------------------------------------- public API
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def env(self, base: dict | None = None) -> dict:
        env = dict(os.environ if base is None else base)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def kubectl(
        self,
        *args: str,
        check: bool = True,
        capture: bool = True,
        input: str | None = None,
        timeout: float | None = 120,
    ) -> subprocess.CompletedProcess:
        """Run kubectl against this cluster; raises ControlPlaneError (with stderr) if check fails."""
        r = subprocess.run(
            [str(self.bin / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            text=True,
            input=input,
            timeout=timeout,
            capture_output=capture,
        )
        if check and r.returncode:
            raise ControlPlaneError(f"kubectl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def __enter__(self) -> ControlPlane:
        self._install_signal_handlers()
        try:
            self.start()
        except BaseException:
            self.stop()
            self._restore_signal_handlers()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            self._restore_signal_handlers()

    def start(self) -> ControlPlane:
        t0 = time.monotonic()
        self._check_binaries()
        st = self.read_state()
        if st and any(_alive(p) for p in st.get("pids", {}).values()):
            raise ControlPlaneError(
                f"a control plane is already running from {self.dir} (pids {st['pids']}); run `down` first"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        if not self.keep_data:
            shutil.rmtree(self.dir / "etcd-data", ignore_errors=True)
        for name in ("etcd_client", "etcd_peer", "apiserver", "kcm", "scheduler", "kwok"):
            self.ports[name] = _free_port()
        self._make_pki()
        self._write_kubeconfigs()
        try:
            self._start("etcd")
            self._wait(self._etcd_healthy, "etcd health")
            self.start_apiserver()
            self._start("kube-controller-manager")
            self._start("kube-scheduler")
            self._bootstrap_objects()
            self._start("kwok")
            self._wait(lambda: self._https_ok(self.ports["kcm"], "/healthz"), "controller-manager /healthz")
            self._wait(lambda: self._https_ok(self.ports["scheduler"], "/healthz"), "scheduler /healthz")
            self._wait(self._default_sa, "default ServiceAccount")
            self._wait(self._nodes_ready, "kwok nodes Ready")
        except BaseException:
            self._log("startup failed; tail of logs:")
            for c in COMPONENTS:
                p = self.logs / f"{c}.log"
                if p.exists():
                    tail = p.read_text(errors="replace").splitlines()[-8:]
                    self._log(f"--- {c}\n" + "\n".join(tail))
            raise
        self._log(f"ready in {time.monotonic() - t0:.1f}s: {self.server} kubeconfig={self.kubeconfig}")
        return self

    def stop(self) -> None:
        """Stop every component (reverse order); safe to call repeatedly."""
        st = self.read_state() or {}
        pids = {**st.get("pids", {}), **self.pids}
        for name in reversed(COMPONENTS):
            pid = pids.get(name)
            if not pid:
                continue
            _kill_group(pid, expect=name, popen=self.procs.get(name))
            self.procs.pop(name, None)
            self.pids.pop(name, None)
        if self.state_file.exists():
            self.state_file.unlink()

    def stop_apiserver(self) -> None:
        pid = self.pids.get("kube-apiserver") or (self.read_state() or {}).get("pids", {}).get("kube-apiserver")
        if pid:
            _kill_group(pid, expect="kube-apiserver", popen=self.procs.get("kube-apiserver"))
        self.procs.pop("kube-apiserver", None)
        self.pids.pop("kube-apiserver", None)
        self._save_state()

    def start_apiserver(self) -> None:
        self._start("kube-apiserver")
        self._wait(lambda: self._https_ok(self.ports["apiserver"], "/readyz", auth=True), "kube-apiserver /readyz")

    def restart_apiserver(self, downtime: float = 0.0) -> None:
        self.stop_apiserver()
        if downtime:
            time.sleep(downtime)
        self.start_apiserver()

    def status(self) -> dict:
        st = self.read_state() or {}
        if st:
            self.ports = st.get("ports", {})
        out = {
            "dir": str(self.dir),
            "kubeconfig": str(self.kubeconfig) if st else None,
            "server": st.get("server"),
            "components": {},
        }
        for name in COMPONENTS:
            pid = st.get("pids", {}).get(name)
            out["components"][name] = {"pid": pid, "running": bool(pid and _alive(pid))}
        if st and out["components"]["kube-apiserver"]["running"]:
            out["apiserver_ready"] = self._https_ok(self.ports["apiserver"], "/readyz", auth=True)
        return out

    def read_state(self) -> dict | None:
        try:
            st = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        self.ports = st.get("ports", self.ports)
        return st

    @classmethod
    def attach(cls, state_dir=None, **kw) -> ControlPlane:
        """A handle on a control plane started by `up` (for restart/stop)."""
        cp = cls(state_dir, **kw)
        st = cp.read_state()
        if not st:
            raise ControlPlaneError(f"no running control plane recorded in {cp.dir}")
        cp.pids = dict(st["pids"])
        return cp

    # ------------------------------------------------------------ internals
    def _check_binaries(self) -> None:
        missing = [
            b
            for b in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")
            if not (self.bin / b).exists()
        ]
        if missing:
            raise ControlPlaneError(f"missing {missing} in {self.bin}: run tools/cluster/build.sh")
        if not (KWOK_SHARE / "stages.yaml").exists():
            raise ControlPlaneError(f"missing {KWOK_SHARE}/stages.yaml: run tools/cluster/build.sh kwok")

    def _save_state(self) -> None:
        st = {
            "pids": self.pids,
            "ports": self.ports,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "bin": str(self.bin),
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(st, indent=1))
        tmp.replace(self.state_file)

    def _install_signal_handlers(self) -> None:
        if not self.handle_signals:
            return
        import threading

        if threading.current_thread() is not threading.main_thread():
            return

        def on_term(signum, frame):
            raise SystemExit(128 + signum)

        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, on_term)

    def _restore_signal_handlers(self) -> None:
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        self._old_handlers.clear()

    def _args(self, name: str) -> list[str]:
        p, d, pki = self.ports, self.dir, self.pki
        if name == "etcd":
            c, pe = f"http://127.0.0.1:{p['etcd_client']}", f"http://127.0.0.1:{p['etcd_peer']}"
            a = [
                "--name=mlplatform",
                f"--data-dir={d / 'etcd-data'}",
                f"--listen-client-urls={c}",
                f"--advertise-client-urls={c}",
                f"--listen-peer-urls={pe}",
                f"--initial-advertise-peer-urls={pe}",
                f"--initial-cluster=mlplatform={pe}",
                "--initial-cluster-state=new",
                "--quota-backend-bytes=4294967296",
                "--log-level=warn",
            ]
            if not self.etcd_fsync:
                a.append("--unsafe-no-fsync")
            return a
        if name == "kube-apiserver":
            return [
                f"--etcd-servers=http://127.0.0.1:{p['etcd_client']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={p['apiserver']}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # the `kubernetes` Service cannot point at a loopback address
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
            ]
        common = [
            f"--kubeconfig={d / name}.kubeconfig",
            f"--authentication-kubeconfig={d / name}.kubeconfig",
            f"--authorization-kubeconfig={d / name}.kubeconfig",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            "--v=1",
        ]
        if name == "kube-controller-manager":
            return common + [
                f"--secure-port={p['kcm']}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                "--use-service-account-credentials=true",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # all default controllers; 1.35's kcm has no cloud controllers left
                # (they live in cloud-controller-manager), and node IPAM is idle
                # without --allocate-node-cidrs (kwok assigns pod IPs itself)
                "--controllers=*",
                "--concurrent-deployment-syncs=10",
                "--concurrent-statefulset-syncs=10",
            ]
        if name == "kube-scheduler":
            return common + [f"--secure-port={p['scheduler']}"]
        if name == "kwok":
            return [
                f"--kubeconfig={d / 'kwok.kubeconfig'}",
                f"--config={KWOK_SHARE / 'stages.yaml'}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{p['kwok']}",
            ]
        raise KeyError(name)

    def _start(self, name: str) -> None:
        cmd = [str(self.bin / name), *self._args(name)]
        logf = open(self.logs / f"{name}.log", "ab")
        logf.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        logf.flush()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True
        )
        logf.close()
        self.procs[name] = proc
        self.pids[name] = proc.pid
        self._save_state()

    def _wait(self, probe, what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ControlPlaneError(
                        f"{name} exited with {proc.returncode} while waiting for "
                        f"{what}; see {self.logs / (name + '.log')}"
                    )
            try:
                if probe():
                    return
            except Exception:  # noqa: BLE001 - keep polling until the deadline
                pass
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"timed out waiting for {what}")
            time.sleep(0.25)

    # --- HTTP helpers
    def _ssl(self, auth: bool) -> ssl.SSLContext:
        if auth:
            ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
            ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        else:
            ctx = ssl._create_unverified_context()  # self-signed serving certs of kcm/scheduler
        return ctx

    def _get(self, port: int, path: str, auth: bool = True) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=self._ssl(auth), timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def _https_ok(self, port: int, path: str, auth: bool = False) -> bool:
        code, body = self._get(port, path, auth)
        return code == 200 and body.strip() == b"ok"

    def _etcd_healthy(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['etcd_client']}/health", timeout=5) as r:
            return json.loads(r.read()).get("health") == "true"

    def _default_sa(self) -> bool:
        return self._get(self.ports["apiserver"], "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

    def _nodes_ready(self) -> bool:
        for i in range(self.nodes):
            code, body = self._get(self.ports["apiserver"], f"/api/v1/nodes/kwok-node-{i}")
            if code != 200:
                return False
            conds = json.loads(body).get("status", {}).get("conditions", [])
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                return False
        return True

    # --- PKI and kubeconfigs
    def _make_pki(self) -> None:
        pki = self.pki
        pki.mkdir(parents=True, exist_ok=True)
        if not (pki / "ca.crt").exists():
            _openssl(
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "3650",
                "-subj",
                "/CN=mlplatform-local-ca",
                cwd=pki,
            )
        if not (pki / "sa.key").exists():
            _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
            _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
        san = (
            "subjectAltName=IP:127.0.0.1,IP:" + SERVICE_IP + ",DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
        )
        self._cert("apiserver", "/CN=kube-apiserver", ext=[san, "extendedKeyUsage=serverAuth"])
        self._cert("admin", "/O=system:masters/CN=kubernetes-admin", ext=["extendedKeyUsage=clientAuth"])
        self._cert("kube-controller-manager", "/CN=system:kube-controller-manager", ext=["extendedKeyUsage=clientAuth"])
        self._cert("kube-scheduler", "/CN=system:kube-scheduler", ext=["extendedKeyUsage=clientAuth"])
        self._cert("kwok", "/O=system:masters/CN=kwok-controller", ext=["extendedKeyUsage=clientAuth"])

    def _cert(self, name: str, subj: str, ext: list[str]) -> None:
        pki = self.pki
        if (pki / f"{name}.crt").exists():
            return
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            subj,
            cwd=pki,
        )
        with tempfile.NamedTemporaryFile("w", suffix=".ext", dir=pki, delete=False) as f:
            f.write("\n".join(["basicConstraints=CA:FALSE", "keyUsage=digitalSignature,keyEncipherment", *ext]))
            extfile = f.name
        try:
            _openssl(
                "x509",
                "-req",
                "-in",
                f"{name}.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                f"{name}.crt",
                "-days",
                "3650",
                "-extfile",
                extfile,
                cwd=pki,
            )
        finally:
            os.unlink(extfile)
            (pki / f"{name}.csr").unlink(missing_ok=True)

    def _kubeconfig_text(self, user: str) -> str:
        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "mlplatform",
                "clusters": [
                    {
                        "name": "mlplatform",
                        "cluster": {"server": self.server, "certificate-authority-data": b64(self.pki / "ca.crt")},
                    }
                ],
                "users": [
                    {
                        "name": user,
                        "user": {
                            "client-certificate-data": b64(self.pki / f"{user}.crt"),
                            "client-key-data": b64(self.pki / f"{user}.key"),
                        },
                    }
                ],
                "contexts": [{"name": "mlplatform", "context": {"cluster": "mlplatform", "user": user}}],
            },
            indent=1,
        )

    def _write_kubeconfigs(self) -> None:
        self.kubeconfig.write_text(self._kubeconfig_text("admin"))
        os.chmod(self.kubeconfig, 0o600)
        for c in ("kube-controller-manager", "kube-scheduler", "kwok"):
            p = self.dir / f"{c}.kubeconfig"
            p.write_text(self._kubeconfig_text(c))
            os.chmod(p, 0o600)

    def _bootstrap_objects(self) -> None:
        # kwok's "fast" volume stages provision+bind PVCs of this (default) class
        self.kubectl(
            "apply",
            "--server-side",
            "--field-manager=mlplatform-controlplane",
            "-f",
            str(KWOK_SHARE / "storage-class.yaml"),
        )
        docs = []
        k8s_version = _versions().get("K8S_VERSION", "v0.0.0")
        kwok_version = _versions().get("KWOK_VERSION", "v0.0.0")
        for i in range(self.nodes):
            name = f"kwok-node-{i}"
            res = {"cpu": self.node_cpu, "memory": self.node_memory, "pods": self.node_pods, "ephemeral-storage": "1Ti"}
            docs.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                        "labels": {
                            "kubernetes.io/hostname": name,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "type": "kwok",
                            "node-role.kubernetes.io/agent": "",
                        },
                    },
                    "status": {
                        "allocatable": res,
                        "capacity": res,
                        "nodeInfo": {
                            "kubeletVersion": k8s_version,
                            "kubeProxyVersion": k8s_version,
                            "architecture": "amd64",
                            "operatingSystem": "linux",
                            "containerRuntimeVersion": f"kwok://{kwok_version}",
                            "kernelVersion": "kwok",
                            "osImage": "kwok",
                            "machineID": "",
                            "systemUUID": "",
                            "bootID": "",
                        },
                    },
                }
            )
        # What the API server's endpoint reconciler would publish, were it on (it is off: the
        # advertise address is loopback, which an endpoint may not be). The address is from a
        # documentation range (RFC 5737): nothing is sent to it, programs only read it.
        docs.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {
                        "kubernetes.io/service-name": "kubernetes",
                        "endpointslice.kubernetes.io/managed-by": "mlplatform-controlplane",
                    },
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": [API_ENDPOINT], "conditions": {"ready": True}}],
                "ports": [{"name": "https", "port": self.ports["apiserver"], "protocol": "TCP"}],
            }
        )
        manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
        self.kubectl("apply", "--server-side", "--field-manager=mlplatform-controlplane", "-f", "-", input=manifest)


# ------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["up", "down", "status", "restart-apiserver", "run", "env"])
    ap.add_argument(
        "--dir", default=os.environ.get("MLPLATFORM_CLUSTER_DIR"), help=f"state dir (default {DEFAULT_DIR})"
    )
    ap.add_argument("--bin", default=None, help=f"binaries (default {DEFAULT_BIN})")
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--downtime", type=float, default=0.0, help="restart-apiserver: seconds down")
    ap.add_argument("--keep-data", action="store_true", help="up: keep etcd data from a previous run")
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd: list[str] = []
    if "--" in argv:  # run: everything after -- is the command
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1 :]
    a = ap.parse_args(argv)
    cp = ControlPlane(a.dir, bin_dir=a.bin, nodes=a.nodes, keep_data=a.keep_data)

    if a.command == "status":
        st = cp.status()
        print(json.dumps(st, indent=1))
        return 0 if st.get("apiserver_ready") else 1
    if a.command == "env":
        if not cp.read_state():
            print("not running", file=sys.stderr)
            return 1
        print(f"export KUBECONFIG={cp.kubeconfig}")
        return 0
    if a.command == "down":
        cp.stop()
        print("stopped")
        return 0
    if a.command == "restart-apiserver":
        cp = ControlPlane.attach(a.dir, bin_dir=a.bin)
        cp.restart_apiserver(a.downtime)
        print(f"kube-apiserver restarted (pid {cp.pids['kube-apiserver']})")
        return 0
    if a.command == "up":
        st = cp.read_state()
        if st and all(_alive(p) for p in st.get("pids", {}).values()) and cp.status().get("apiserver_ready"):
            print(f"already running: {st['server']}\nexport KUBECONFIG={cp.kubeconfig}")
            return 0
        cp.stop()  # clean up leftovers of a half-dead previous run
        with _signals_raise():
            try:
                cp.start()
            except BaseException:
                cp.stop()
                raise
        print(f"export KUBECONFIG={cp.kubeconfig}")
        return 0
    if a.command == "run":
        if not cmd:
            ap.error("run needs a command after --")
        with _signals_raise(), cp:
            return subprocess.call(cmd, env=cp.env())
    return 2


@contextlib.contextmanager
def _signals_raise():
    def on_sig(signum, frame):
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, on_sig) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main())
