"""What a person sees in the dashboard: exactly the namespaces of the teams whose profile files name them.

kfam cannot be built here (the Go module proxy refuses github.com/kubeflow/kubeflow/components/
access-management), so its answer is computed from its inputs as the program renders them (the
Profiles and the team RoleBindings), by the rule kfam v1.10.0 applies (kubeflow/kubeflow @ 90e987bf,
components/access-management):

* kfam/api_default.go `ReadBinding`: without a `namespace` query, the namespaces are the names of
  every Profile (`profileClient.List`); the dashboard asks `GET /kfam/v1/bindings?user=<email>`
  (centraldashboard app/api_workgroup.ts `getWorkgroupInfo`).
* kfam/bindings.go `BindingClient.List`: in each of those namespaces, every RoleBinding that has a
  `user` annotation equal to the asked user and a `role` annotation; one with other than one subject
  is an error for the whole answer; the entry is (namespace, subject, `roleBindingNameMap[roleRef.name]`:
  kubeflow-admin -> admin, kubeflow-edit -> edit, kubeflow-view -> view).
* The dashboard shows each entry's namespace with `roleMap` (admin -> owner, edit -> contributor,
  view -> viewer), app/api_workgroup.ts `mapWorkgroupBindingToSimpleBinding`.
"""

from __future__ import annotations

import pytest

from inputs.settings import PROJECT_DIR
from inputs.teams import load_profiles
from tests.conftest import team

ROLE_BINDING_NAME_MAP = {"kubeflow-admin": "admin", "kubeflow-edit": "edit", "kubeflow-view": "view"}
DASHBOARD_ROLES = {"admin": "owner", "edit": "contributor", "view": "viewer"}
TEAMS = load_profiles(PROJECT_DIR / "profiles", frozenset(), relative_to=PROJECT_DIR)


class KfamError(Exception):
    """kfam answers an error (HTTP 401) instead of bindings."""


def kfam_bindings(objects: list[dict], user: str) -> list[tuple[str, str, str]]:
    """(namespace, subject name, role) of `GET /kfam/v1/bindings?user=<user>`, by kfam's rule."""
    namespaces = [o["metadata"]["name"] for o in objects if o["kind"] == "Profile"]
    bindings = []
    for ns in namespaces:
        for rb in (o for o in objects if o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == ns):
            annotations = rb["metadata"].get("annotations") or {}
            if "user" not in annotations or annotations["user"] != user or "role" not in annotations:
                continue
            if len(rb["subjects"]) != 1:
                raise KfamError(f"binding subject length not equal to 1, actual length: {len(rb['subjects'])}")
            bindings.append((ns, rb["subjects"][0]["name"], ROLE_BINDING_NAME_MAP.get(rb["roleRef"]["name"], "")))
    return bindings


def dashboard_view(objects: list[dict], user: str) -> dict[str, set[str]]:
    """The namespaces the dashboard offers `user`, with the role it shows for each."""
    view: dict[str, set[str]] = {}
    for ns, _, role in kfam_bindings(objects, user):
        view.setdefault(ns, set()).add(DASHBOARD_ROLES.get(role, "?"))
    return view


def expected(teams, user: str) -> dict[str, set[str]]:
    """What the profile files say: the owner owns the team, each member has their role."""
    view: dict[str, set[str]] = {}
    for t in teams:
        roles = {"admin"} if t.owner == user else set()
        roles |= {m.role for m in t.members if m.email == user}
        if roles:
            view[t.namespace] = {DASHBOARD_ROLES[r] for r in roles}
    return view


def people(teams) -> set[str]:
    return {p for t in teams for p in (t.owner, *(m.email for m in t.members))}


def test_each_person_of_the_example_profiles_sees_exactly_their_namespaces(platform):
    objects = [r.object for r in platform.objects]
    assert len(people(TEAMS)) >= 8
    for person in sorted(people(TEAMS)):
        view = dashboard_view(objects, person)
        assert view and view == expected(TEAMS, person), person
        # the entries are the person's own bindings (the annotation names the binding's one subject)
        assert {subject for _, subject, _ in kfam_bindings(objects, person)} == {person}
    assert dashboard_view(objects, "mallory@example.com") == {}


def test_a_person_in_several_teams_sees_each_with_its_role(evaluate):
    rendered = evaluate(
        {
            "a.yaml": team("alpha", owner="pat@example.com"),
            "b.yaml": team("beta", members=[{"email": "pat@example.com", "role": "view"}]),
            "c.yaml": team("gamma", members=[{"email": "sam@example.com", "role": "edit"}]),
        }
    )
    objects = [r.object for r in rendered.objects]
    assert dashboard_view(objects, "pat@example.com") == {"alpha": {"owner"}, "beta": {"viewer"}}
    assert dashboard_view(objects, "sam@example.com") == {"gamma": {"contributor"}}
    assert dashboard_view(objects, "owner@gamma.example.com") == {"gamma": {"owner"}}


def test_the_rule_needs_the_profile_and_the_annotations(platform):
    """The evaluator is kfam's rule, not a restatement of the profile files: without a Profile, or without the
    annotations, kfam lists nothing; a binding with two subjects spoils the whole answer."""
    objects = [r.object for r in platform.objects]
    vision = next(t for t in TEAMS if t.name == "vision")
    no_profile = [o for o in objects if not (o["kind"] == "Profile" and o["metadata"]["name"] == "vision")]
    assert "vision" not in dashboard_view(no_profile, vision.owner)
    bare = [
        {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "annotations"}}
        if o["kind"] == "RoleBinding"
        else o
        for o in objects
    ]
    assert dashboard_view(bare, vision.owner) == {}
    owner_binding = next(
        o
        for o in objects
        if o["kind"] == "RoleBinding"
        and (o["metadata"]["namespace"], o["metadata"]["name"]) == ("vision", "namespaceAdmin")
    )
    doubled = {**owner_binding, "subjects": owner_binding["subjects"] * 2}
    with pytest.raises(KfamError):
        kfam_bindings([*objects, doubled], owner_binding["metadata"]["annotations"]["user"])


def test_team_bindings_carry_what_kfam_reads(platform):
    """Every person's RoleBinding (components/profiles.py) has the `user`/`role` annotations, one User subject
    equal to `user`, a kubeflow-* role matching `role`; the owner's is `namespaceAdmin`, as the profile
    controller names it (kfam reads any name; only its contributor writes, off here, derive names)."""
    for t in TEAMS:
        bindings = [r.object for r in platform.of_kind("RoleBinding", t.namespace)]
        people_bindings = [b for b in bindings if (b["metadata"].get("annotations") or {}).get("user")]
        assert len(people_bindings) == 1 + len(t.members)
        for b in people_bindings:
            annotations = b["metadata"]["annotations"]
            (subject,) = b["subjects"]
            assert subject == {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": annotations["user"]}
            assert b["roleRef"]["name"] == f"kubeflow-{annotations['role']}"
        (owner,) = [b for b in people_bindings if b["metadata"]["name"] == "namespaceAdmin"]
        assert owner["metadata"]["annotations"] == {"user": t.owner, "role": "admin"}
