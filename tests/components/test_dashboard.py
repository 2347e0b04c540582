"""Dashboard: the central dashboard and kfam as upstream needs them, the Profile per team, and what a person
sees (the namespaces kfam gives the dashboard, computed from the rendered objects by kfam's own rule)."""

from __future__ import annotations

import json

import pytest
import yaml

import tools.evaluate as evaluate_module
from components.dashboard import CONFIG_MAP, DASHBOARD, KFAM, tracking_link
from components.platform import PLATFORM_NAMESPACE as NS
from components.tracking import ui_route
from inputs.settings import PROJECT_DIR
from inputs.teams import load_profiles
from library.routes import gateway_peer
from tests.components.test_frontdoor import by_prefix, endpoint, envoy_config
from tests.conftest import team
from tools.render import stack_config

TEAMS = {t.name: t for t in load_profiles(PROJECT_DIR / "profiles", frozenset(), relative_to=PROJECT_DIR)}


def container(rendered, name: str) -> dict:
    (found,) = rendered.get("Deployment", name, NS).object["spec"]["template"]["spec"]["containers"]
    return found


def test_dashboard_as_upstream_runs_it(platform):
    dashboard = container(platform, DASHBOARD)
    assert dashboard["image"] == "ghcr.io/kubeflow/kubeflow/central-dashboard:v1.10.0"
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in dashboard["env"]}
    assert env["USERID_HEADER"] == "kubeflow-userid" and env["USERID_PREFIX"] == ""
    assert env["REGISTRATION_FLOW"] == "false" and env["LOGOUT_URL"] == "/oauth2/sign_out"
    assert (env["PROFILES_KFAM_SERVICE_HOST"], env["PROFILES_KFAM_SERVICE_PORT"]) == (f"{KFAM}.{NS}", "8081")
    assert env["DASHBOARD_CONFIGMAP"] == CONFIG_MAP and env["COLLECT_METRICS"] == "false"
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["npm_config_cache"].startswith("/tmp/")  # the only writable path
    assert dashboard["ports"][0]["containerPort"] == 8082
    assert dashboard["livenessProbe"]["httpGet"]["path"] == "/healthz"
    service = platform.get("Service", DASHBOARD, NS).object["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in service] == [(80, "http")]


def test_kfam_as_upstream_runs_it(platform):
    kfam = container(platform, KFAM)
    assert kfam["image"] == "ghcr.io/kubeflow/kubeflow/kfam:v1.10.0"
    assert kfam["command"] == [
        "/access-management",
        *("-cluster-admin", ""),  # upstream's ADMIN: nobody
        *("-userid-header", "kubeflow-userid"),
        *("-userid-prefix", ""),
    ]
    assert kfam["ports"][0]["containerPort"] == 8081
    service = platform.get("Service", KFAM, NS).object["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in service] == [(8081, "http")]
    pod = platform.get("Deployment", KFAM, NS).object["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 65532 and kfam["securityContext"]["readOnlyRootFilesystem"]


def test_rbac_is_read_only_and_narrow(platform):
    kfam = platform.get("ClusterRole", KFAM).object["rules"]
    assert kfam == [
        {"apiGroups": ["kubeflow.org"], "resources": ["profiles"], "verbs": ["get", "list"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["get", "list", "watch"]},
    ]
    binding = platform.get("ClusterRoleBinding", KFAM).object
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": KFAM, "namespace": NS}]
    # the dashboard: its ConfigMap in the platform namespace, events in team namespaces, nothing cluster-wide
    role = platform.get("Role", DASHBOARD, NS).object["rules"]
    assert role == [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [CONFIG_MAP], "verbs": ["get"]}]
    bound = [
        r.object
        for r in platform.of_kind("ClusterRoleBinding") + platform.of_kind("RoleBinding")
        if {"kind": "ServiceAccount", "name": DASHBOARD, "namespace": NS} in r.object["subjects"]
    ]
    where = {(b["kind"], b["metadata"].get("namespace"), b["roleRef"]["name"]) for b in bound}
    assert where == {
        ("RoleBinding", NS, DASHBOARD),
        *(("RoleBinding", t, "centraldashboard-events") for t in TEAMS),
    }
    events = platform.get("ClusterRole", "centraldashboard-events").object["rules"]
    assert events == [{"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list"]}]


def test_network_policies_name_the_clients(platform):
    dashboard = platform.get("NetworkPolicy", DASHBOARD, NS).object["spec"]
    assert dashboard["ingress"] == [{"from": [gateway_peer()], "ports": [{"port": 8082, "protocol": "TCP"}]}]
    kfam = platform.get("NetworkPolicy", KFAM, NS).object["spec"]
    (rule,) = kfam["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": dashboard["podSelector"]["matchLabels"]}}]
    assert rule["ports"] == [{"port": 8081, "protocol": "TCP"}]


def test_routes_the_dashboard_and_each_teams_activity_view(platform):
    served = by_prefix(envoy_config(platform))
    root = served["/"]["route"]
    assert endpoint(envoy_config(platform), root["cluster"]) == (f"{DASHBOARD}.{NS}.svc.cluster.local", 80)
    assert "prefix_rewrite" not in root and "typed_per_filter_config" not in served["/"]  # signed in, any person
    assert "/kfam/" not in served  # only the dashboard calls kfam
    for name, spec in TEAMS.items():
        activities = served[f"/api/activities/{name}/"]
        policies = activities["typed_per_filter_config"]["envoy.filters.http.rbac"]["rbac"]["rules"]["policies"]
        (policy,) = policies.values()
        users = {p["header"]["string_match"]["exact"] for p in policy["principals"]}
        assert users == {spec.owner, *(m.email for m in spec.members)}, name


def test_links_to_the_installed_components(platform):
    config = platform.get("ConfigMap", CONFIG_MAP, NS).object["data"]
    assert json.loads(config["settings"]) == {"DASHBOARD_FORCE_IFRAME": True}
    links = json.loads(config["links"])
    pipelines = next(m for m in links["menuLinks"] if m["text"] == "Pipelines")
    assert {i["link"] for i in pipelines["items"]} >= {"/pipeline/#/pipelines", "/pipeline/#/runs"}
    (mlflow,) = [m for m in links["menuLinks"] if "mlflow" in m.get("link", "")]
    # with a team chosen, the link is the prefix Tracking declares for that team's UI
    for name in TEAMS:
        assert mlflow["link"].replace("{ns}", TEAMS[name].namespace) == ui_route(name).prefix
    assert mlflow["link"] == tracking_link()
    # every menu link goes to a path the gateway serves
    served = set(by_prefix(envoy_config(platform)))
    for item in [*links["menuLinks"], *pipelines["items"]]:
        if "link" in item and "{ns}" not in item["link"]:
            assert any(item["link"].startswith(p) for p in served - {"/"}), item
    (managed,) = links["documentationItems"]
    assert "managed as code" in managed["text"] and "profiles/<team>.yaml" in managed["desc"]


def test_without_tracking_there_is_no_mlflow_link(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, tracking="false")
    links = rendered.get("ConfigMap", CONFIG_MAP, NS).object["data"]["links"]
    assert "mlflow" not in links and "/pipeline/" in links


def test_profile_crd_serves_what_kfam_asks_for(platform):
    crd = platform.get("CustomResourceDefinition", "profiles.kubeflow.org").object["spec"]
    assert crd["scope"] == "Cluster" and crd["names"]["kind"] == "Profile"
    versions = {v["name"]: v for v in crd["versions"]}
    assert {n for n, v in versions.items() if v["served"]} == {"v1", "v1beta1"}  # kfam reads v1beta1
    assert [n for n, v in versions.items() if v["storage"]] == ["v1"]
    assert versions["v1"]["schema"] == versions["v1beta1"]["schema"]  # so no conversion webhook is needed
    assert len(yaml.safe_dump(crd)) < 3000  # upstream's is ~16 KB


def test_one_inert_profile_per_team(platform):
    profiles = {r.metadata["name"]: r.object for r in platform.of_kind("Profile")}
    assert set(profiles) == {t.namespace for t in TEAMS.values()}
    for spec in TEAMS.values():
        owner = profiles[spec.namespace]["spec"]["owner"]
        assert owner == {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": spec.owner}
        assert "namespace" not in profiles[spec.namespace]["metadata"]
    assert not platform.of_kind("Deployment", "profiles-system")  # and no profile controller anywhere
    assert not [d for d in platform.of_kind("Deployment") if "profile-controller" in json.dumps(d.object)]


@pytest.mark.parametrize("which", ["platform", "nlp"])
def test_team_stacks_hold_their_own_profile(which, monkeypatch):
    monkeypatch.setattr(evaluate_module, "STACK_OUTPUTS", dict(evaluate_module.STACK_OUTPUTS))
    config, secret = stack_config("vanilla")
    config = {**config, "mlplatform:teamStacks": "true"}
    if which != "platform":
        config = {**config, "mlplatform:team": which, "mlplatform:platformStack": "vanilla"}
    registrations = evaluate_module.run_platform(config, f"vanilla.{which}", secret)
    objects = list(evaluate_module.kubernetes_objects(registrations))
    profiles = [r.metadata["name"] for r in objects if r.kind == "Profile"]
    deployments = [r.metadata["name"] for r in objects if r.kind == "Deployment" and r.metadata["namespace"] == NS]
    if which == "platform":
        assert profiles == [] and {DASHBOARD, KFAM} <= set(deployments)
        assert [
            r for r in objects if r.kind == "CustomResourceDefinition" and r.metadata["name"].startswith("profiles")
        ]
    else:
        assert profiles == [which] and DASHBOARD not in deployments
        assert not [r for r in objects if r.kind == "CustomResourceDefinition"]
