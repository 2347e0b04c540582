"""SignIn under mocks: objects, secrets, the gateway's interface, and who reaches the servers."""

from __future__ import annotations

import json

import pytest
import yaml

from components.platform import PLATFORM_NAMESPACE, build, validate
from components.signin import GATEWAY_NAMESPACE, GATEWAY_SELECTOR, SignIn
from inputs.settings import load as load_settings
from library import k8s
from library import signin as config
from library.images import catalog
from library.signin import DEX, NAMESPACE, PROXY
from tests.conftest import Platform
from tests.render.reachability import Address
from tests.render.test_network import PUBLIC, world
from tools.evaluate import contains_secret, is_secret, run, run_platform

HASH = "$2b$10$snYBVTQX3VsCsWYaQLcKrOOIUaofCUEpyDJASF3iB/pc2jLJe41ju"
HOST = "ml.example.com"
USERS = [{"email": "alice@example.com", "passwordHash": HASH, "groups": ["team-a"]}]
OIDC = {
    "mlplatform:identityProvider": "oidc",
    "mlplatform:oidcIssuerUrl": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
    "mlplatform:oidcClientId": "11111111-2222-3333-4444-555555555555",
    "mlplatform:oidcClientSecret": "entra-client-secret",
    "mlplatform:oidcEmailClaim": "preferred_username",
}


def evaluate(users=USERS, **extra) -> Platform:
    full = {"mlplatform:host": HOST, "mlplatform:users": json.dumps(users), **extra}
    return Platform(run_platform(full, secret_keys=frozenset({"mlplatform:users", "mlplatform:oidcClientSecret"})))


@pytest.fixture(scope="module")
def dex() -> Platform:
    return evaluate()


@pytest.fixture(scope="module")
def oidc() -> Platform:
    return evaluate(users=[], **OIDC)


def files(platform: Platform, name: str) -> dict[str, str]:
    return platform.get("ConfigMap", name, NAMESPACE).object["data"]


def pod(platform: Platform, name: str) -> dict:
    return platform.get("Deployment", name, NAMESPACE).object["spec"]["template"]["spec"]


def test_the_gateway_is_told_where_to_check_and_which_paths_to_route():
    settings = load_settings({}, "Pulumi.test.yaml")
    needs = SignIn.needs(settings)
    routes = {(r.prefix, r.service, r.namespace, r.port, r.sign_in) for r in needs.routes}
    assert routes == {("/dex/", DEX, NAMESPACE, 5556, False), ("/oauth2/", PROXY, NAMESPACE, 4180, False)}
    built = []
    teams = validate({}, "test")[1]
    run(lambda: built.append(build(settings, teams)))
    signin = built[0].components[SignIn]
    assert (signin.ext_authz.host, signin.ext_authz.port, signin.ext_authz.path) == (
        "oauth2-proxy.kubeflow-auth.svc.cluster.local",
        4180,
        "/oauth2/auth",
    )
    assert signin.ext_authz.headers == ("kubeflow-userid", "kubeflow-groups")
    assert signin.issuer == "https://localhost/dex" and signin.sign_out_path == "/oauth2/sign_out"


def test_an_external_issuer_needs_no_dex_route():
    settings = load_settings(OIDC, "Pulumi.test.yaml", secret_keys=frozenset({"mlplatform:oidcClientSecret"}))
    assert [r.prefix for r in SignIn.needs(settings).routes] == ["/oauth2/"]


def test_services_and_images(dex):
    for name, port in ((DEX, 5556), (PROXY, 4180)):
        service = dex.get("Service", name, NAMESPACE).object["spec"]
        assert service["ports"][0]["port"] == port
        (container,) = pod(dex, name)["containers"]
        assert container["image"] == catalog()[name]
        assert container["ports"][0]["containerPort"] == port


def test_secrets_stay_in_secrets(dex):
    for name in (DEX, PROXY):
        assert is_secret(dex.get("Secret", name, NAMESPACE).inputs["stringData"]), name
    revealed = dex.get("Secret", PROXY, NAMESPACE).object["stringData"]
    assert len(revealed["cookie-secret"]) == 32  # an AES-256 key, as oauth2-proxy requires 16, 24 or 32 bytes
    assert revealed["client-secret"] == dex.get("Secret", DEX, NAMESPACE).object["stringData"]["OIDC_CLIENT_SECRET"]
    assert dex.get("Secret", DEX, NAMESPACE).object["stringData"]["DEX_PASSWORD_HASH_0"] == HASH
    for name in (DEX, PROXY):
        configmap = dex.get("ConfigMap", name, NAMESPACE)
        assert not contains_secret(configmap.inputs)
        assert HASH not in json.dumps(configmap.object) and revealed["client-secret"] not in json.dumps(
            configmap.object
        )


def test_dex_reads_each_hash_and_the_client_secret_from_its_secret(dex):
    dex_config = yaml.safe_load(files(dex, DEX)["config.yaml"])
    assert dex_config["issuer"] == f"https://{HOST}/dex"
    assert dex_config["storage"] == {"type": "memory"}
    (alice,) = dex_config["staticPasswords"]
    assert (alice["email"], alice["groups"], alice["hashFromEnv"]) == (
        "alice@example.com",
        ["team-a"],
        "DEX_PASSWORD_HASH_0",
    )
    (client,) = dex_config["staticClients"]
    assert client["redirectURIs"] == [f"https://{HOST}/oauth2/callback"]
    (container,) = pod(dex, DEX)["containers"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert env == {k: {"name": DEX, "key": k} for k in ("OIDC_CLIENT_SECRET", "DEX_PASSWORD_HASH_0")}
    assert dex.get("Deployment", DEX, NAMESPACE).object["spec"]["replicas"] == 1  # memory storage


def test_oauth2_proxy_answers_with_the_identity_headers(dex):
    alpha = yaml.safe_load(files(dex, PROXY)["oauth2_proxy.yaml"])
    headers = {h["name"]: h["values"][0]["claimSource"]["claim"] for h in alpha["injectResponseHeaders"]}
    assert headers == {"kubeflow-userid": "email", "kubeflow-groups": "groups"}
    assert "injectRequestHeaders" not in alpha  # no token or identity travels on through oauth2-proxy
    (provider,) = alpha["providers"]
    assert provider["oidcConfig"]["issuerURL"] == f"https://{HOST}/dex"
    assert provider["redeemURL"] == "http://dex.kubeflow-auth.svc.cluster.local:5556/dex/token"
    options = files(dex, PROXY)["oauth2_proxy.cfg"]
    for line in (
        "cookie_secure = true",
        "skip_jwt_bearer_tokens = true",
        f'redirect_url = "https://{HOST}/oauth2/callback"',
    ):
        assert line in options.splitlines()
    mounted = {v["mountPath"] for v in pod(dex, PROXY)["containers"][0]["volumeMounts"]}
    assert {config.CONFIG_DIR, config.SECRETS_DIR} == mounted


def test_a_new_password_restarts_dex_and_only_dex(dex):
    other = evaluate(users=[{**USERS[0], "passwordHash": "$2b$10$" + "x" * 53}])
    digest = "mlplatform.io/config-digest"

    def annotation(platform, name):
        return platform.get("Deployment", name, NAMESPACE).object["spec"]["template"]["metadata"]["annotations"][digest]

    assert annotation(other, DEX) != annotation(dex, DEX)
    assert annotation(other, PROXY) == annotation(dex, PROXY)


def test_an_external_issuer(oidc):
    assert oidc.of_kind("Deployment", NAMESPACE) == [oidc.get("Deployment", PROXY, NAMESPACE)]
    (provider,) = yaml.safe_load(files(oidc, PROXY)["oauth2_proxy.yaml"])["providers"]
    assert provider["oidcConfig"]["issuerURL"] == OIDC["mlplatform:oidcIssuerUrl"]
    assert provider["oidcConfig"]["emailClaim"] == "preferred_username"
    assert "skipDiscovery" not in provider["oidcConfig"] and provider["scope"] == "openid email profile"
    secret = oidc.get("Secret", PROXY, NAMESPACE)
    assert is_secret(secret.inputs["stringData"])
    assert secret.object["stringData"]["client-secret"] == "entra-client-secret"


def cluster(platform: Platform):
    c = world(r.object for r in platform.objects)
    # the front door renders the gateway (components/frontdoor.py); a stand-in only where it is not built
    if not [p for p in c.pods if p.namespace == GATEWAY_NAMESPACE and p.name == "gateway"]:
        c.add_namespace(GATEWAY_NAMESPACE)
        c.add_pod(GATEWAY_NAMESPACE, "gateway", {**k8s.workload_labels("gateway", "frontdoor")[1]}, [(8080,)])
    c.add_pod(GATEWAY_NAMESPACE, "impostor", {"app": "gateway"}, [(8080,)])
    return c


def test_only_the_gateway_reaches_the_sign_in(dex):
    assert GATEWAY_SELECTOR == k8s.workload_labels("gateway", "frontdoor")[0]
    c = cluster(dex)
    servers = c.in_namespace(NAMESPACE)
    gateway = c.pod(GATEWAY_NAMESPACE, "gateway")
    assert c.reachable(gateway, servers) == {(NAMESPACE, DEX, 5556), (NAMESPACE, PROXY, 4180)}
    proxy, dex_pod = c.pod(NAMESPACE, PROXY), c.pod(NAMESPACE, DEX)
    assert c.reachable(proxy, servers) == {(NAMESPACE, DEX, 5556)}
    for other in c.pods:
        if other.namespace not in (NAMESPACE, GATEWAY_NAMESPACE):
            assert c.reachable(other, servers) == set(), other
    assert c.reachable(c.pod(GATEWAY_NAMESPACE, "impostor"), servers) == set()
    # Dex reaches nothing; oauth2-proxy only the DNS and Dex, and nothing outside the cluster.
    assert c.reachable(dex_pod, [p for p in c.pods if p is not dex_pod]) == set()
    assert not c.allows(dex_pod, c.pod("kube-system", "coredns"), 53, "UDP")
    assert c.allows(proxy, c.pod("kube-system", "coredns"), 53, "UDP")
    assert c.reachable(proxy, [p for p in c.pods if p.namespace != "kube-system"]) == {(NAMESPACE, DEX, 5556)}
    assert not c.allows(proxy, PUBLIC, 443)
    assert c.reachable(c.pod(NAMESPACE, PROXY), c.in_namespace(PLATFORM_NAMESPACE)) == set()


def test_with_an_external_issuer_oauth2_proxy_reaches_https_only(oidc):
    c = cluster(oidc)
    proxy = c.pod(NAMESPACE, PROXY)
    for address in (PUBLIC, Address("a private issuer", "10.1.2.3")):
        assert c.allows(proxy, address, 443) and not c.allows(proxy, address, 80)
    assert c.reachable(c.pod(GATEWAY_NAMESPACE, "gateway"), c.in_namespace(NAMESPACE)) == {(NAMESPACE, PROXY, 4180)}
