"""By-name team routes (`Route.by_name`) through the whole program: a component declaring the notebooks'
route (here the dashboard's needs, extended by the test, stand in for the Notebooks component) gets the
gateway's routes and forward proxy, accepted by the real Envoy, and in each team namespace a
NetworkPolicy through which the gateway reaches the apps' pods, on their port, and nothing else."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from components.dashboard import Dashboard
from library.routes import GATEWAY_NAMESPACE, gateway_peer
from tests.components.test_frontdoor_by_name import notebook_route
from tests.conftest import Platform, write_profiles
from tests.library.test_gateway import validate
from tests.render.reachability import Address, Cluster
from tools.evaluate import run_platform

TEAMS = {
    "a.yaml": {"name": "team-a", "owner": "alice@example.com", "members": [{"email": "v@x.com", "role": "view"}]},
    "b.yaml": {"name": "team-b", "owner": "bob@example.com"},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Platform:
    original = Dashboard.needs.__func__

    def needs(cls, settings):
        base = original(cls, settings)
        return replace(base, team_routes=lambda team: (*base.team_routes(team), notebook_route(team.name)))

    folder = write_profiles(tmp_path_factory.mktemp("by-name") / "profiles", TEAMS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Dashboard, "needs", classmethod(needs))
        # (the test's route stands in for the Notebooks component's, which is turned off)
        config = {"mlplatform:profilesDir": str(folder), "mlplatform:tracking": "false"}
        config["mlplatform:notebooks"] = "false"
        config["mlplatform:serving"] = "false"  # (its by-name route would join the test's)
        return Platform(run_platform(config))


def test_the_gateway_routes_each_teams_notebooks_and_envoy_accepts_it(rendered, tmp_path):
    text = rendered.get("ConfigMap", "gateway", GATEWAY_NAMESPACE).object["data"]["envoy.yaml"]
    assert validate(text, tmp_path).returncode == 0
    document = yaml.safe_load(text)
    manager = document["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    named = {
        r["route"]["host_rewrite_path_regex"]["substitution"]: r
        for r in routes
        if "safe_regex" in r["match"] and "route" in r
    }
    assert sorted(named) == [r"\1.team-a.svc.cluster.local:80", r"\1.team-b.svc.cluster.local:80"]
    (proxy,) = [c for c in document["static_resources"]["clusters"] if "cluster_type" in c]
    assert proxy["name"] == "notebook-by-name"
    # team a's notebooks admit its owner, not its viewer (roles admin and edit)
    team_a = named[r"\1.team-a.svc.cluster.local:80"]
    rbac = team_a["typed_per_filter_config"]["envoy.filters.http.rbac"]["rbac"]["rules"]["policies"]
    (policy,) = rbac.values()
    assert [p["header"]["string_match"]["exact"] for p in policy["principals"]] == ["alice@example.com"]


def test_each_team_namespace_opens_its_notebooks_to_the_gateway_only(rendered):
    for team in ("team-a", "team-b"):
        policy = rendered.get("NetworkPolicy", "gateway-notebook-name-8888", team).object
        assert policy["spec"] == {
            "podSelector": {"matchExpressions": [{"key": "notebook-name", "operator": "Exists"}]},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [gateway_peer()], "ports": [{"port": 8888, "protocol": "TCP"}]}],
        }
    cluster = Cluster()
    cluster.add_objects(o.object for o in rendered.objects)
    (door,) = cluster.in_namespace(GATEWAY_NAMESPACE)
    notebooks = {t: cluster.add_pod(t, "nb", {"notebook-name": "nb"}, [(8888,), (8080,)]) for t in ("team-a", "team-b")}
    other = cluster.add_pod("team-a", "ml-pipeline-ui-artifact", {"app": "ml-pipeline-ui-artifact"}, [(3000,)])
    assert cluster.reachable(door, [*notebooks.values(), other]) == {("team-a", "nb", 8888), ("team-b", "nb", 8888)}
    # the gateway's own egress: the DNS, the routed apps; no other pod of a team, nothing outside the cluster
    cluster.add_namespace("kube-system")
    cluster.add_namespace("intruder", cluster.namespaces["team-a"])  # a namespace copying a team's labels
    dns = cluster.add_pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, [(53, "UDP")])
    intruder = cluster.add_pod("intruder", "nb", {"notebook-name": "nb"}, [(8888,)])
    assert cluster.allows(door, dns, 53, "UDP") and not cluster.allows(door, intruder, 8888)
    for address in ("169.254.169.254", "93.184.216.34", "10.1.2.3"):
        assert not cluster.allows(door, Address(address, address), 80), address
    assert cluster.allows(door, cluster.pod("kubeflow", "centraldashboard"), 8082)
    # nobody else of the platform; within a team, the team's own pods as before; never the other team's
    for pod in cluster.pods:
        if pod is door or pod in notebooks.values():
            continue
        reached = {t for t, nb in notebooks.items() if cluster.allows(pod, nb, 8888)}
        assert reached <= ({pod.namespace} & set(notebooks)), pod
