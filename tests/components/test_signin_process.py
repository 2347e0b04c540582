"""A real sign-in, against the real Dex and oauth2-proxy run with exactly the files the program renders.

Both are built at the versions the image pins name (tools/cluster/build.sh, versions.env) and run as
local processes with the rendered ConfigMaps, Secrets and container arguments; only the listen
addresses, the in-cluster address of Dex and the mount folders are replaced. A `requests` session
plays the browser; its transport stands in for the gateway's routing (`/dex/` to Dex, the rest to
oauth2-proxy) under the public `https://<host>`, so Secure cookies and redirects are the real ones.
The gateway's check (ext_authz) is oauth2-proxy's `/oauth2/auth` with the request's cookie or token."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

import pytest
import requests
import yaml
from requests.adapters import HTTPAdapter

from library import signin as config
from library.signin import DEX, NAMESPACE, PROXY
from tests.conftest import Platform
from tools.evaluate import run_platform

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MLPLATFORM_CACHE", Path.home() / ".cache" / "mlplatform"))
HOST = "ml.example.com"
BASE = f"https://{HOST}"
# bcrypt (cost 10) of "alice-pw" and "bob-pw" (bob's as htpasswd writes it, $2y$), set as with `--secret --path`.
USERS = [
    {
        "email": "alice@example.com",
        "passwordHash": "$2b$10$snYBVTQX3VsCsWYaQLcKrOOIUaofCUEpyDJASF3iB/pc2jLJe41ju",
        "groups": ["team-a", "readers"],
    },
    {"email": "bob@example.com", "passwordHash": "$2y$10$DLDrOaEnrLwAR.4zFwcqnuZf7Z7QIv3vIM1UIea5xeH9dky32xVAa"},
]
PASSWORDS = {"alice@example.com": "alice-pw", "bob@example.com": "bob-pw"}


def test_the_images_run_the_versions_this_test_builds():
    lines = (line.split("#")[0].strip().split("=", 1) for line in (ROOT / "tools/cluster/versions.env").open())
    versions = {p[0]: p[1] for p in lines if len(p) == 2}
    images = yaml.safe_load((ROOT / "manifests/images.yaml").read_text())
    assert images["dex"].rsplit(":", 1)[1] == versions["DEX_VERSION"]
    assert images["oauth2-proxy"].rsplit(":", 1)[1] == versions["OAUTH2_PROXY_VERSION"]


def binary(tool: str, name: str) -> Path:
    path = CACHE / "bin" / name
    if not path.exists():
        unavailable = CACHE / "unavailable.txt"
        if unavailable.exists() and tool in unavailable.read_text():
            print(f"\n!!! SIGN-IN TEST SKIPPED: {unavailable.read_text().strip()}", flush=True)
            pytest.skip(f"the registries could not supply {tool}: {unavailable.read_text().strip()}")
        pytest.fail(f"{path} is not built: run tools/cluster/build.sh {tool} (make test does)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url}: the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 within {seconds}s:\n{log.read_text()[-3000:]}")


class Gateway(HTTPAdapter):
    """The transport of https://HOST: `/dex/` to Dex, everything else to oauth2-proxy (plain http on
    loopback), as the gateway routes them; the session keeps seeing the public https URLs."""

    def __init__(self, dex: str, proxy: str):
        super().__init__()
        self.dex, self.proxy = dex, proxy

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        target = self.dex if url.path.startswith("/dex/") else self.proxy
        inner = request.copy()
        inner.url = urlunsplit(("http", target, url.path, url.query, ""))
        inner.headers["Host"] = HOST
        response = super().send(inner, **kwargs)
        response.url, response.request = request.url, request
        return response


class SignIn:
    """Dex and oauth2-proxy with the rendered configuration, on loopback ports."""

    def __init__(self, platform: Platform, tmp: Path):
        self.platform = platform
        self.ports = {DEX: free_port(), PROXY: free_port()}
        self.processes: list[subprocess.Popen] = []
        dex_url = f"http://127.0.0.1:{self.ports[DEX]}"

        def swap(text: str) -> str:  # the in-cluster address of Dex and the Secret's mount folder
            text = text.replace(config.dex_url().removesuffix("/dex"), dex_url)
            return text.replace(config.SECRETS_DIR, str(tmp / "secrets"))

        # Dex: its ConfigMap's config.yaml, its Secret as its environment, the container's command.
        dex_config = yaml.safe_load(self.configmap(DEX)["config.yaml"])
        dex_config["web"]["http"] = f"127.0.0.1:{self.ports[DEX]}"
        (tmp / "dex.yaml").write_text(yaml.safe_dump(dex_config))
        (container,) = self.pod(DEX)["containers"]
        command = [str(binary("dex", "dex")), *container["command"][1:-1], str(tmp / "dex.yaml")]
        env = {"PATH": os.environ["PATH"], **self.secret(DEX)}
        self.start("dex", command, env, tmp)
        wait_for(f"{dex_url}/dex/healthz", self.processes[-1], tmp / "dex.log")  # its probe

        # oauth2-proxy: its ConfigMap's two files, its Secret's files, the container's arguments.
        (tmp / "secrets").mkdir()
        for key, value in self.secret(PROXY).items():
            (tmp / "secrets" / key).write_text(value)
        files = self.configmap(PROXY)
        options = swap(files["oauth2_proxy.cfg"])
        alpha = yaml.safe_load(swap(files["oauth2_proxy.yaml"]))
        alpha["server"]["bindAddress"] = f"127.0.0.1:{self.ports[PROXY]}"
        (tmp / "oauth2_proxy.cfg").write_text(options)
        (tmp / "oauth2_proxy.yaml").write_text(yaml.safe_dump(alpha))
        (container,) = self.pod(PROXY)["containers"]
        args = [a.replace(config.CONFIG_DIR, str(tmp)) for a in container["args"]]
        self.start("oauth2-proxy", [str(binary("oauth2-proxy", "oauth2-proxy")), *args], {}, tmp)
        for probe in ("/ping", "/ready"):
            wait_for(f"http://127.0.0.1:{self.ports[PROXY]}{probe}", self.processes[-1], tmp / "oauth2-proxy.log")

    def pod(self, name: str) -> dict:
        return self.object("Deployment", name)["spec"]["template"]["spec"]

    def configmap(self, name: str) -> dict[str, str]:
        return self.object("ConfigMap", name)["data"]

    def secret(self, name: str) -> dict[str, str]:
        return self.object("Secret", name)["stringData"]

    def object(self, kind: str, name: str) -> dict:
        return self.platform.get(kind, name, NAMESPACE).object

    def start(self, name: str, command: list[str], env: dict[str, str], tmp: Path) -> None:
        log = (tmp / f"{name}.log").open("w")
        self.processes.append(
            subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    def browser(self) -> requests.Session:
        session = requests.Session()
        session.mount(BASE, Gateway(f"127.0.0.1:{self.ports[DEX]}", f"127.0.0.1:{self.ports[PROXY]}"))
        return session


@pytest.fixture(scope="module")
def signin(tmp_path_factory):
    users = json.dumps(USERS)
    platform = Platform(
        run_platform(
            {"mlplatform:host": HOST, "mlplatform:users": users},
            secret_keys=frozenset({"mlplatform:users"}),
        )
    )
    server = SignIn(platform, tmp_path_factory.mktemp("signin"))
    yield server
    server.stop()


def follow(session: requests.Session, response: requests.Response, stop: str = "") -> requests.Response:
    """Follow redirects by hand (each hop through the gateway), until one to `stop` or a page."""
    for _ in range(10):
        if response.status_code not in (301, 302, 303, 307) or (stop and response.headers["Location"].startswith(stop)):
            return response
        response = session.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
    raise AssertionError("too many redirects")


def log_in(session: requests.Session, start: requests.Response, email: str, password: str) -> requests.Response:
    """From a redirect to Dex, fill in Dex's login form and follow where it leads."""
    form = follow(session, start)
    assert form.status_code == 200 and 'name="password"' in form.text, (form.status_code, form.url)
    action = re.search(r'<form[^>]*action="([^"]*)"', form.text)
    target = urljoin(form.url, action.group(1).replace("&amp;", "&")) if action and action.group(1) else form.url
    return session.post(target, data={"login": email, "password": password}, allow_redirects=False)


def sign_in(signin: SignIn, email: str) -> requests.Session:
    session = signin.browser()
    start = session.get(f"{BASE}/oauth2/start?rd=/", allow_redirects=False)
    assert start.status_code == 302 and start.headers["Location"].startswith(f"{BASE}/dex/auth?")
    done = follow(session, log_in(session, start, email, PASSWORDS[email]))
    assert done.url == f"{BASE}/", done.url  # back where the person started, through /oauth2/callback
    return session


def check(session: requests.Session, **headers: str) -> requests.Response:
    """The gateway's question about a request carrying the session's cookie (and `headers`)."""
    return session.get(f"{BASE}{config.AUTH_PATH}", headers=headers, allow_redirects=False)


def test_an_anonymous_request_is_refused_and_a_page_is_sent_to_sign_in(signin):
    anonymous = signin.browser()
    refused = check(anonymous, **{"kubeflow-userid": "alice@example.com"})
    assert refused.status_code == 401
    assert "kubeflow-userid" not in refused.headers
    page = anonymous.get(f"{BASE}/jupyter/", allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].startswith(f"{BASE}/dex/auth?")
    assert anonymous.get(f"{BASE}/api/workgroup/env-info", allow_redirects=False).status_code == 401


def test_after_signing_in_the_check_answers_with_the_email_and_groups(signin):
    alice = sign_in(signin, "alice@example.com")
    cookie = next(c for c in alice.cookies if c.name == config.COOKIE_NAME)
    assert cookie.secure and cookie.domain.lstrip(".") == HOST
    answer = check(alice, **{"kubeflow-userid": "bob@example.com", "kubeflow-groups": "admins"})
    assert answer.status_code == 202
    assert answer.headers["kubeflow-userid"] == "alice@example.com"
    assert answer.headers["kubeflow-groups"] == "team-a,readers"
    # Asked at the request's own path instead (ext_authz without a path prefix), the answer is the same.
    page = alice.get(f"{BASE}/jupyter/api/namespaces", headers={"kubeflow-userid": "bob@example.com"})
    assert page.status_code == 200 and page.headers["kubeflow-userid"] == "alice@example.com"


def test_a_wrong_password_signs_nobody_in(signin):
    session = signin.browser()
    start = session.get(f"{BASE}/oauth2/start?rd=/", allow_redirects=False)
    answer = log_in(session, start, "bob@example.com", "not-bob-pw")
    assert answer.status_code == 401 and "Invalid" in answer.text  # the form again, with the error
    assert check(session).status_code == 401


def dex_tokens(signin: SignIn, email: str) -> dict:
    """Tokens Dex issues to the platform's client: a code flow as oauth2-proxy runs it, by hand."""
    session = signin.browser()
    callback = f"{BASE}/oauth2/callback"
    query = {"client_id": config.CLIENT_ID, "redirect_uri": callback, "response_type": "code", "state": "s"}
    start = session.get(
        f"{BASE}/dex/auth", params={**query, "scope": " ".join(config.DEX_SCOPES)}, allow_redirects=False
    )
    redirect = follow(session, log_in(session, start, email, PASSWORDS[email]), stop=callback)
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    secret = signin.secret(DEX)[config.DEX_CLIENT_SECRET_ENV]
    tokens = session.post(
        f"{BASE}/dex/token",
        auth=(config.CLIENT_ID, secret),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def test_a_bearer_token_dex_issued_is_accepted_and_a_forged_one_is_not(signin):
    tokens = dex_tokens(signin, "bob@example.com")
    header, claims, signature = tokens["id_token"].split(".")
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["iss"] == f"{BASE}/dex"
    machine = signin.browser()
    answer = check(machine, Authorization=f"Bearer {tokens['id_token']}", **{"kubeflow-userid": "alice@example.com"})
    assert answer.status_code == 202
    assert answer.headers["kubeflow-userid"] == "bob@example.com"
    forged = {**json.loads(base64.urlsafe_b64decode(claims + "==")), "email": "alice@example.com"}
    forged_claims = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    for token in (f"{header}.{forged_claims}.{signature}", "eyJhbGciOiJub25lIn0.e30.", "not-a-jwt"):
        refused = check(machine, Authorization=f"Bearer {token}")
        assert refused.status_code == 401, token
        assert "kubeflow-userid" not in refused.headers


def test_signing_out_ends_the_session(signin):
    bob = sign_in(signin, "bob@example.com")
    assert check(bob).headers["kubeflow-userid"] == "bob@example.com"
    assert check(bob).headers.get("kubeflow-groups", "") == ""  # bob has no groups
    out = bob.get(f"{BASE}{config.SIGN_OUT_PATH}?rd={BASE}/signed-out", allow_redirects=False)
    assert (out.status_code, out.headers["Location"]) == (302, f"{BASE}/signed-out")
    assert all(c.name != config.COOKIE_NAME for c in bob.cookies)
    assert check(bob).status_code == 401
