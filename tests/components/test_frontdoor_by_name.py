"""The real Envoy 1.40.0 with a gateway configuration holding by-name routes (`Route.by_name`, as the
Notebooks component declares them): `/notebook/<team>/<name>/...` reaches the Service `<name>` of the
team's namespace through the dynamic forward proxy, websockets included, and nothing else.

Only addresses are replaced in the configuration `library.gateway.bootstrap` writes: listener, admin and
static cluster endpoints (loopback ports), the forward proxy's resolver (a tiny local DNS server that
knows `<label>.<team>.svc.cluster.local`, `LocalNames`) and the Service port in each host rewrite (one
stand-in app per team namespace, which answers with the Host it was asked for). The sign-in check is the
stub of oauth2-proxy's contract from test_frontdoor_stub.py.
"""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import threading
from urllib.parse import urlsplit

import pytest

from inputs.profile import TeamSpec
from library import gateway
from library.routes import ByName, Route
from tests.components.frontdoor_harness import HOST, Door, Echo, LocalNames
from tests.components.test_frontdoor_stub import StubSignIn

pytestmark = pytest.mark.process

TEAMS = [TeamSpec("team-a", "alice@example.com", "a.yaml"), TeamSpec("team-b", "bob@example.com", "b.yaml")]
COOKIES = {"alice": "oauth2_proxy_kubeflow=alice-session", "bob": "oauth2_proxy_kubeflow=bob-session"}


def notebook_route(team: str) -> Route:
    """The route a team's notebooks need: the notebook-controller's Service `<nb>` port 80 to the pod's 8888
    (DefaultServingPort, DefaultContainerPort), pods labelled `notebook-name`, the path kept (Jupyter serves
    under NB_PREFIX) (kubeflow/kubeflow v1.10.0 components/notebook-controller/controllers/notebook_controller.go)."""
    return Route(
        f"/notebook/{team}/", "notebook", team, 80, team=team, websocket=True, timeout_seconds=0,
        by_name=ByName(pod_label="notebook-name", pod_port=8888),
    )  # fmt: skip


def model_route(team: str) -> Route:
    """The route to a team's models: KServe names a model's Service `<name>-predictor` (the Service suffix),
    and the model servers answer at `/` (the prefix and the name are rewritten away)."""
    return Route(
        f"/serving/{team}/", "model", team, 80, rewrite="/", team=team, roles=("admin", "edit", "view"),
        by_name=ByName(pod_label="serving.kserve.io/inferenceservice", pod_port=8080, service_suffix="-predictor"),
    )  # fmt: skip


class App(socketserver.ThreadingTCPServer):
    """A team's notebook servers: answers a GET with JSON (its namespace, path, Host, forwarded host) and a
    websocket upgrade with 101, then echoes every byte back."""

    daemon_threads = True

    def __init__(self, namespace: str):
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                request = self.rfile.readline().decode().split()
                headers = {}
                while (line := self.rfile.readline().decode().strip()) != "":
                    key, _, value = line.partition(":")
                    headers[key.lower()] = value.strip()
                if headers.get("upgrade", "").lower() == "websocket":
                    self.wfile.write(
                        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                    )
                    while data := self.request.recv(1024):
                        self.request.sendall(data)
                    return
                seen = {"namespace": namespace, "path": request[1], "host": headers.get("host")}
                body = json.dumps({**seen, "forwarded_host": headers.get("x-forwarded-host")}).encode()
                head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
                self.wfile.write(head.encode() + body)

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def door(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("by-name")
    routes = [
        Route("/", "centraldashboard", "kubeflow", 80),
        *(notebook_route(t.name) for t in TEAMS),
        *(model_route(t.name) for t in TEAMS),
    ]
    auth = gateway.AuthCheck(host="oauth2-proxy.kubeflow-auth.svc.cluster.local", port=4180)
    text = gateway.bootstrap(routes, TEAMS, auth, terminate_tls=False)
    stub, dashboard = StubSignIn([]), Echo("dashboard")
    apps = {t.name: App(t.name) for t in TEAMS}
    names = LocalNames({team: app.server_address[1] for team, app in apps.items()})
    upstreams = {"sign-in": stub.server_address[1], "kubeflow-centraldashboard-80": dashboard.server_address[1]}
    running = Door(text, upstreams, tmp, names=names)
    yield running, names
    running.stop()
    for server in (stub, dashboard, *apps.values()):
        server.shutdown()


def get(door: Door, path: str, who: str) -> tuple[int, dict[str, str], str]:
    """A request exactly as written, as the Ingress controller passes it on."""
    connection = http.client.HTTPConnection("127.0.0.1", door.port, timeout=10)
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Cookie": COOKIES[who]}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    connection.close()
    return result


def test_a_notebook_path_reaches_its_service_in_the_team_namespace(door):
    running, names = door
    names.asked.clear()
    status, _, body = get(running, "/notebook/team-a/nb-1/lab/tree?x=1", "alice")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["namespace"] == "team-a" and seen["path"] == "/notebook/team-a/nb-1/lab/tree?x=1"  # path kept
    assert seen["host"].startswith("nb-1.team-a.svc.cluster.local:") and seen["forwarded_host"] == HOST
    assert set(names.asked) == {"nb-1.team-a.svc.cluster.local"}  # no search domain tried
    # a bare name is sent to its folder
    status, headers, _ = get(running, "/notebook/team-a/nb-1", "alice")
    assert status == 301 and headers["location"].endswith("/notebook/team-a/nb-1/")


def test_a_notebook_websocket_is_upgraded_and_carried(door):
    running, _ = door
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        lines = [
            "GET /notebook/team-a/nb-1/api/kernels/k1/channels HTTP/1.1", f"Host: {HOST}",
            "X-Forwarded-Proto: https", f"Cookie: {COOKIES['alice']}", "Connection: Upgrade", "Upgrade: websocket",
            "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]  # fmt: skip
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1024)
        assert head.startswith(b"HTTP/1.1 101"), head
        sock.sendall(b"kernel message")
        assert sock.recv(1024) == b"kernel message"


@pytest.mark.parametrize(
    "path",
    [
        "/notebook/team-a/nb-1.team-b/x",  # another namespace through a dotted name
        "/notebook/team-a/nb-1.team-b.svc.cluster.local/x",
        "/notebook/team-a/nb-1%2Eteam-b/x",
        "/notebook/team-a/NB/x",
        "/notebook/team-a/-/x",
        "/notebook/team-a/",
    ],
)
def test_a_name_that_is_not_a_dns_label_is_refused(door, path):
    running, names = door
    names.asked.clear()
    status, _, body = get(running, path, "alice")
    assert status == 404, (status, body[:200])
    assert names.asked == []  # nothing resolved


def test_an_encoded_slash_is_redirected_not_routed(door):
    running, names = door
    names.asked.clear()
    status, headers, body = get(running, "/notebook/team-a/x%2F..%2F..%2Fteam-b%2Fnb/y", "alice")
    assert status in (301, 302, 307, 308) and "%2F" not in headers["location"], (status, headers)
    assert names.asked == [] and "team-b" not in body
    # followed, the path leaves team a's prefix for team b's, which alice may not use
    assert get(running, urlsplit(headers["location"]).path, "alice")[0] == 403 and names.asked == []


def test_another_teams_member_is_refused(door):
    running, names = door
    names.asked.clear()
    assert get(running, "/notebook/team-a/nb-1/", "bob")[0] == 403
    status, headers, _ = get(running, "/notebook/team-a/nb-1", "bob")  # (only a redirect, for anyone)
    assert status == 301 and get(running, urlsplit(headers["location"]).path, "bob")[0] == 403
    assert get(running, "/notebook/team-a/../team-a/nb-1/", "bob")[0] == 403
    assert get(running, "/notebook/team-b/nb-1/../../team-a/nb-1/", "bob")[0] == 403
    assert names.asked == []
    assert json.loads(get(running, "/notebook/team-b/nb-1/", "bob")[2])["namespace"] == "team-b"


def test_a_model_path_reaches_the_models_predictor_service_at_its_root(door):
    running, names = door
    names.asked.clear()
    status, _, body = get(running, "/serving/team-a/iris/v1/models/iris:predict", "alice")
    assert status == 200, body
    seen = json.loads(body)
    assert seen["namespace"] == "team-a" and seen["path"] == "/v1/models/iris:predict"  # prefix and name gone
    assert seen["host"].startswith("iris-predictor.team-a.svc.cluster.local:")
    assert set(names.asked) == {"iris-predictor.team-a.svc.cluster.local"}
    names.asked.clear()
    assert get(running, "/serving/team-a/iris/v2/health/ready", "bob")[0] == 403  # not bob's team
    assert get(running, "/serving/team-a/iris.team-b/v2/health/ready", "alice")[0] == 404
    assert names.asked == []
