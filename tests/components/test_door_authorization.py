"""The door's authorization of team routes equals a SubjectAccessReview against what Pulumi renders.

Issue 12 asks that a team's own apps (its MLflow UI, later notebooks, TensorBoards, models) be reached
only by users whose team role allows it: "a SubjectAccessReview for the header user against the
namespace, or an equivalent". The gateway renders Envoy RBAC from the profiles; this test shows it is
that equivalent. For every team route and every person (members of any team, and outsiders), the
rendered Envoy policy admits the person exactly when Kubernetes RBAC, evaluated over the rendered
RoleBindings and ClusterRoles (aggregation resolved as the controller does), grants the route's
permission in the team namespace. It holds while RoleBindings are written only by Pulumi from the
same profiles (profiles are code; a binding added by hand is not seen by the door: README).
"""

from __future__ import annotations

import pytest
import yaml

from library.routes import GATEWAY_NAMESPACE
from tests.components.test_frontdoor import prefix_of
from tests.conftest import team

ROUTE_PERMISSION = {"/mlflow/": ("create", "", "services/proxy"), "/api/activities/": ("list", "", "events")}
"""What each kind of team route stands for, as a SAR (verb, API group, resource/subresource) in the team
namespace. MLflow has no permissions of its own: a visitor can change runs and models, so the door asks
for what lets a person reach the team's services (kubeflow-edit and -admin grant it; -view does not).
The dashboard's activity view shows the namespace's events, which every team role may list."""

TEAMS = {
    "alpha.yaml": team(
        "alpha",
        owner="ann@example.com",
        members=[
            {"email": "bea@example.com", "role": "admin"},
            {"email": "cal@example.com", "role": "edit"},
            {"email": "dan@example.com", "role": "view"},
        ],
    ),
    "beta.yaml": team(
        "beta",
        owner="bea@example.com",
        members=[{"email": "dan@example.com", "role": "edit"}, {"email": "eve@example.com", "role": "view"}],
    ),
    "gamma.yaml": team("gamma", owner="gus@example.com"),
}
OUTSIDERS = ("zed@example.com", "ANN@example.com", "ann@example.co", "")


def _aggregated(cluster_roles: dict[str, dict]) -> dict[str, list[dict]]:
    """Rules of every ClusterRole, aggregation resolved to a fixed point (as the aggregation controller)."""
    rules = {name: list(role.get("rules") or []) for name, role in cluster_roles.items()}
    changed = True
    while changed:
        changed = False
        for name, role in cluster_roles.items():
            selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            for other, other_role in cluster_roles.items():
                labels = other_role["metadata"].get("labels") or {}
                if other != name and any(
                    all(labels.get(k) == v for k, v in s["matchLabels"].items()) for s in selectors
                ):
                    for rule in rules[other]:
                        if rule not in rules[name]:
                            rules[name].append(rule)
                            changed = True
    return rules


def subject_access_review(objects, user: str, namespace: str, permission: tuple[str, str, str]) -> bool:
    """Kubernetes RBAC's answer for `user` (no groups, as Kubeflow's web apps ask) in `namespace`."""
    verb, group, resource = permission
    roles = _aggregated({o["metadata"]["name"]: o for o in objects if o["kind"] == "ClusterRole"})
    for binding in objects:
        if binding["kind"] != "RoleBinding" or binding["metadata"]["namespace"] != namespace:
            continue
        if not any(s["kind"] == "User" and s["name"] == user for s in binding.get("subjects") or []):
            continue
        assert binding["roleRef"]["kind"] == "ClusterRole"
        for rule in roles[binding["roleRef"]["name"]]:
            if (
                (group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", []))
                and (resource in rule.get("resources", []) or "*" in rule.get("resources", []))
                and (verb in rule["verbs"] or "*" in rule["verbs"])
            ):
                return True
    return False


def envoy_admits(route: dict, user: str) -> bool:
    """The rendered per-route RBAC (ALLOW, header principals) evaluated for a request carrying `user`
    in kubeflow-userid, as the ext_authz filter left it."""
    rules = route["typed_per_filter_config"]["envoy.filters.http.rbac"]["rbac"]["rules"]
    assert rules["action"] == "ALLOW"
    for policy in rules["policies"].values():
        assert policy["permissions"] == [{"any": True}]
        for principal in policy["principals"]:
            header = principal["header"]
            assert header["name"] == "kubeflow-userid" and set(header["string_match"]) == {"exact"}
            if header["string_match"]["exact"] == user:
                return True
    return False


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from tests.conftest import Platform, write_profiles
    from tools.evaluate import run_platform

    folder = write_profiles(tmp_path_factory.mktemp("door") / "profiles", TEAMS)
    return Platform(run_platform({"mlplatform:profilesDir": str(folder)}))


def test_team_routes_admit_exactly_whom_rbac_allows(rendered):
    objects = [r.object for r in rendered.objects]
    config = yaml.safe_load(rendered.get("ConfigMap", "gateway", GATEWAY_NAMESPACE).object["data"]["envoy.yaml"])
    (host,) = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"][
        "route_config"
    ]["virtual_hosts"]
    # (by-name routes, the teams' notebooks, match a regex: tests/components/test_by_name_routes.py)
    team_routes = [
        r
        for r in host["routes"]
        if "envoy.filters.http.rbac" in r.get("typed_per_filter_config", {}) and "prefix" in r["match"]
    ]
    people = sorted(
        {t["owner"] for t in TEAMS.values()} | {m["email"] for t in TEAMS.values() for m in t.get("members", [])}
    )
    checked = {True: 0, False: 0}
    for route in team_routes:
        prefix = prefix_of(route)
        (kind,) = [k for k in ROUTE_PERMISSION if prefix.startswith(k)]
        namespace = prefix[len(kind) :].strip("/")
        for person in [*people, *OUTSIDERS]:
            expected = subject_access_review(objects, person, namespace, ROUTE_PERMISSION[kind])
            assert envoy_admits(route, person) == expected, (prefix, person)
            checked[expected] += 1
    assert len(team_routes) == len(TEAMS) * len(ROUTE_PERMISSION)
    # both answers occur: MLflow admits owners, admins and editors (3 in alpha, 2 in beta, 1 in gamma), the
    # activity view every member (4, 3, 1); other teams' people and outsiders pass neither
    admitted = 6 + 8
    assert checked[True] == admitted
    assert checked[False] == len(team_routes) * (len(people) + len(OUTSIDERS)) - admitted


def test_the_review_itself_tells_roles_apart(rendered):
    objects = [r.object for r in rendered.objects]
    permission = ROUTE_PERMISSION["/mlflow/"]
    assert subject_access_review(objects, "cal@example.com", "alpha", permission)  # edit
    assert not subject_access_review(objects, "dan@example.com", "alpha", permission)  # view
    assert subject_access_review(objects, "dan@example.com", "beta", permission)  # edit there
    assert subject_access_review(objects, "dan@example.com", "alpha", ("get", "", "pods"))  # view reads pods
    assert not subject_access_review(objects, "zed@example.com", "alpha", ("get", "", "pods"))
