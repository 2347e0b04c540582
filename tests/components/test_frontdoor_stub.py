"""The real Envoy with the rendered gateway bootstrap, its sign-in check answered by a stub of oauth2-proxy.

This runs without Dex and oauth2-proxy (test_frontdoor_process.py runs the real ones when they are
built). The stub keeps oauth2-proxy's contract with the gateway, as the sign-in renders it
(components/signin.py: a static upstream, `injectResponseHeaders`, `api_routes`): asked about a request
at the request's own path, it answers 200 with `kubeflow-userid`/`kubeflow-groups` for a known session
cookie, 401 for an unknown one on an API path, and otherwise a 302 to Dex's login. The stub also adds a
header of its own on success, which must not reach an app. Both entries run: behind an Ingress (plain
HTTP listener) and as a LoadBalancer (Envoy terminates TLS with a throwaway certificate; its HTTP
listener only redirects).
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.components.frontdoor_harness import APPS, BASE, HOST, Door, Echo, browser
from tests.conftest import Platform, write_profiles
from tests.library.test_gateway import self_signed
from tools.evaluate import run_platform

pytestmark = pytest.mark.process

TEAMS = {
    "a.yaml": {"name": "team-a", "owner": "alice@example.com"},
    "b.yaml": {"name": "team-b", "owner": "bob@example.com"},
}
SESSIONS = {"alice-session": ("alice@example.com", "team-a"), "bob-session": ("bob@example.com", "")}
FORGED = {"kubeflow-userid": "admin@example.com", "Kubeflow-Groups": "cluster-admins", "kubeflow_userid": "u@x"}


class StubSignIn(ThreadingHTTPServer):
    """oauth2-proxy's answers to the gateway's check; `asked` records the paths it was asked about."""

    def __init__(self, api_routes: list[str]):
        self.asked: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                stub.asked.append(self.path)
                cookie = re.search(r"oauth2_proxy_kubeflow=([\w-]+)", self.headers.get("cookie", ""))
                session = SESSIONS.get(cookie.group(1)) if cookie else None
                if session:
                    self.send_response(200)
                    self.send_header("kubeflow-userid", session[0])
                    self.send_header("kubeflow-groups", session[1])
                    self.send_header("x-stub-secret", "must-not-reach-an-app")
                elif any(re.search(r, self.path) for r in api_routes):
                    self.send_response(401)
                else:
                    self.send_response(302)
                    self.send_header("location", f"{BASE}/dex/auth?client_id=mlplatform")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def render(tmp, **config: str) -> Platform:
    folder = write_profiles(tmp / "profiles", TEAMS)
    settings = {"mlplatform:host": HOST, "mlplatform:profilesDir": str(folder), **config}
    return Platform(run_platform(settings))


def start(platform: Platform, tmp, tls=None):
    options = platform.get("ConfigMap", "oauth2-proxy", "kubeflow-auth").object["data"]["oauth2_proxy.cfg"]
    api_routes = re.findall(r'"(\^[^"]+)"', re.search(r"api_routes = (\[.*\])", options).group(1))
    assert "^/ml_metadata" in api_routes
    stub = StubSignIn(api_routes)
    apps = {name: Echo(name) for name in (*APPS, "dex", "oauth2")}
    upstreams = {
        "sign-in": stub.server_address[1],
        "kubeflow-auth-dex-5556": apps["dex"].server_address[1],
        "kubeflow-auth-oauth2-proxy-4180": apps["oauth2"].server_address[1],
        **{name: apps[name].server_address[1] for name in APPS},
    }
    return Door(platform, upstreams, tmp, tls), stub


@pytest.fixture(scope="module")
def behind_ingress(tmp_path_factory):
    print("\n(front door with oauth2-proxy replaced by a stub of its contract)", flush=True)
    tmp = tmp_path_factory.mktemp("stub-ingress")
    door, stub = start(render(tmp), tmp)
    yield door, stub
    door.stop()


def signed_in(door: Door, session: str) -> requests.Session:
    browser_ = browser(door)
    browser_.cookies.set("oauth2_proxy_kubeflow", session, domain=HOST, secure=True)
    return browser_


def test_identity_headers_are_stripped_where_no_check_runs(behind_ingress):
    door, stub = behind_ingress
    stub.asked.clear()
    seen = browser(door).get(f"{BASE}/dex/auth", headers=FORGED).json()
    assert seen["app"] == "dex"
    assert not [h for h in seen["headers"] if h.replace("_", "-") in ("kubeflow-userid", "kubeflow-groups")]
    assert stub.asked == []  # the sign-in flow is not checked


def test_the_check_sees_the_request_path_and_only_its_identity_arrives(behind_ingress):
    door, stub = behind_ingress
    stub.asked.clear()
    seen = signed_in(door, "alice-session").get(f"{BASE}/pipeline/apis/v2beta1/runs?x=1", headers=FORGED).json()
    assert stub.asked == ["/pipeline/apis/v2beta1/runs?x=1"]
    assert seen["headers"]["kubeflow-userid"] == "alice@example.com"
    assert seen["headers"]["kubeflow-groups"] == "team-a"
    assert "kubeflow_userid" not in seen["headers"] and "x-stub-secret" not in seen["headers"]


def test_anonymous_requests_get_the_check_answer(behind_ingress):
    door, _ = behind_ingress
    anonymous = browser(door)
    page = anonymous.get(f"{BASE}/mlflow/team-a/", headers=FORGED, allow_redirects=False)
    assert page.status_code == 302 and page.headers["location"] == f"{BASE}/dex/auth?client_id=mlplatform"
    api = anonymous.get(f"{BASE}/ml_metadata.MetadataStoreService/GetArtifacts", allow_redirects=False)
    assert api.status_code == 401


def test_team_routes_follow_the_profiles(behind_ingress):
    door, _ = behind_ingress
    alice, bob = signed_in(door, "alice-session"), signed_in(door, "bob-session")
    assert alice.get(f"{BASE}/mlflow/team-a/").json()["app"] == "kubeflow-mlflow-mlflow-team-a-5000"
    assert alice.get(f"{BASE}/mlflow/team-b/", headers={"kubeflow-userid": "bob@example.com"}).status_code == 403
    assert bob.get(f"{BASE}/mlflow/team-b/").json()["app"] == "kubeflow-mlflow-mlflow-team-b-5000"
    assert bob.get(f"{BASE}/mlflow/team-a/../team-a/").status_code == 403


def test_the_dashboard_and_each_teams_activity_view(behind_ingress):
    door, _ = behind_ingress
    alice, bob = signed_in(door, "alice-session"), signed_in(door, "bob-session")
    home = bob.get(f"{BASE}/", headers={"kubeflow-userid": "alice@example.com"}).json()
    assert home["app"] == "kubeflow-centraldashboard-80" and home["headers"]["kubeflow-userid"] == "bob@example.com"
    # the page asks /api/activities/<ns> (no slash): redirected to the team's route, which admits its members
    seen = alice.get(f"{BASE}/api/activities/team-a").json()
    assert (seen["app"], seen["path"]) == ("kubeflow-centraldashboard-80", "/api/activities/team-a/")
    assert bob.get(f"{BASE}/api/activities/team-a").status_code == 403
    assert bob.get(f"{BASE}/api/activities/team-a/").status_code == 403
    # kfam is not routed: /kfam/ is the dashboard's (its catch-all page), never kfam's
    assert bob.get(f"{BASE}/kfam/v1/bindings").json()["app"] == "kubeflow-centraldashboard-80"


def raw_tls_get(port: int, cafile, path: str, headers: dict[str, str]) -> str:
    """One HTTPS request, the certificate verified for HOST; the response's head and body as text."""
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port)) as sock, context.wrap_socket(sock, server_hostname=HOST) as tls:
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {HOST}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_a_load_balancer_entry_terminates_tls_and_redirects_http(tmp_path):
    tls = self_signed(tmp_path, HOST)
    door, stub = start(render(tmp_path, **{"mlplatform:entry": "loadBalancer"}), tmp_path, tls)
    try:
        plain = requests.get(
            f"http://127.0.0.1:{door.ports['http']}/pipeline/?a=b", headers={"Host": HOST}, allow_redirects=False
        )
        assert plain.status_code == 301 and plain.headers["location"] == f"{BASE}/pipeline/?a=b"
        assert stub.asked == []  # the redirect comes first
        # over TLS: a client's claim to have come over HTTP, or to be someone, is not believed
        answer = raw_tls_get(
            door.ports["https"], tls / "tls.crt", "/pipeline/",
            {"Cookie": "oauth2_proxy_kubeflow=bob-session", "X-Forwarded-Proto": "http", **FORGED},
        )  # fmt: skip
        head, _, body = answer.partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 200"), head
        assert '"kubeflow-userid": "bob@example.com"' in body and '"x-forwarded-proto": "https"' in body
        assert "admin@example.com" not in body
    finally:
        door.stop()
