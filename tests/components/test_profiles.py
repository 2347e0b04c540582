"""Profiles: what each team namespace receives, asserted on the registered inputs."""

from __future__ import annotations

from components.platform import PLATFORM_NAMESPACE
from components.profiles import member_binding_name
from tests.conftest import team
from tools.evaluate import is_secret


def test_each_team_gets_one_profile_component(platform):
    profiles = platform.components("mlplatform:index:Profile")
    assert sorted(p.name for p in profiles) == [
        "mlplatform-team-forecasting",
        "mlplatform-team-nlp",
        "mlplatform-team-vision",
    ]
    root = platform.components("mlplatform:index:Platform")[0]
    assert all(p.parent == root.urn for p in profiles)


def test_namespace_labels_and_retention(platform):
    ns = platform.get("Namespace", "vision")
    labels = ns.metadata["labels"]
    assert labels["mlplatform.io/team"] == "vision"
    assert labels["app.kubernetes.io/part-of"] == "kubeflow-profile"
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert ns.metadata["annotations"]["owner"] == "alice@example.com"
    assert ns.retain_on_delete and not ns.protect
    assert (
        platform.get("Namespace", "forecasting").metadata["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )


def test_everything_in_a_team_namespace_waits_for_it(platform):
    ns = platform.get("Namespace", "nlp")
    inside = [r for r in platform.objects if r.metadata.get("namespace") == "nlp"]
    assert len(inside) >= 9
    assert all(ns.urn in r.dependencies for r in inside)


def subjects(platform, namespace):
    out = {}
    for rb in platform.of_kind("RoleBinding", namespace):
        for s in rb.inputs["subjects"]:
            out[(s["kind"], s["name"])] = rb.inputs["roleRef"]["name"]
    return out


def test_rbac_subjects(platform):
    assert subjects(platform, "nlp") == {
        ("User", "dave@example.com"): "kubeflow-admin",
        ("User", "erin@example.com"): "kubeflow-admin",
        ("User", "frank@example.com"): "kubeflow-edit",
        ("ServiceAccount", "default-editor"): "kubeflow-edit",
        ("ServiceAccount", "default-viewer"): "kubeflow-view",
    }
    owner = platform.get("RoleBinding", "namespaceAdmin", "nlp")
    assert owner.metadata["annotations"] == {"user": "dave@example.com", "role": "admin"}
    assert {a.metadata["name"] for a in platform.of_kind("ServiceAccount", "nlp") if "Profile$" in a.urn} == {
        "default-editor",
        "default-viewer",
    }


def test_member_binding_names_are_valid_and_distinct():
    a = member_binding_name("a.b@x.io", "edit")
    b = member_binding_name("a-b@x.io", "edit")
    assert a != b and a.startswith("user-a-b-x-io-") and a.endswith("-edit")
    assert member_binding_name("A.B@x.io", "view") == a.replace("-edit", "-view")
    assert len(member_binding_name("x" * 200 + "@example.com", "admin")) < 64


def test_quota_and_limits(platform):
    quota = platform.get("ResourceQuota", "kf-resource-quota", "vision").inputs["spec"]["hard"]
    assert quota == {
        "requests.cpu": "32",
        "requests.memory": "128Gi",
        "requests.nvidia.com/gpu": "4",
        "requests.storage": "1Ti",
        "pods": "200",
    }
    limits = platform.get("LimitRange", "container-defaults", "vision").inputs["spec"]["limits"][0]
    assert limits["defaultRequest"] == {"cpu": "250m", "memory": "512Mi"}
    assert limits["default"] == {"cpu": "2", "memory": "8Gi"}
    forecasting = platform.get("ResourceQuota", "kf-resource-quota", "forecasting").inputs["spec"]["hard"]
    assert forecasting["requests.nvidia.com/gpu"] == "0"  # no GPUs unless the profile asks


def test_network_isolation(platform):
    policy = platform.get("NetworkPolicy", "team-isolation", "vision").inputs["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["from"][0] == {"podSelector": {}}
    selector = rule["from"][1]["namespaceSelector"]["matchExpressions"][0]
    assert selector["key"] == "kubernetes.io/metadata.name" and selector["values"] == [PLATFORM_NAMESPACE]
    assert len(rule["from"]) == 2 and "ports" not in rule


def test_object_store_keys_stay_secret(platform):
    secret = platform.get("Secret", "object-store-credentials", "vision")
    assert is_secret(secret.inputs["stringData"])
    values = secret.object["stringData"]
    assert set(values) == {"accesskey", "secretkey"} and len(values["secretkey"]) == 40


def test_deletion_policy_delete_is_not_retained(evaluate):
    result = evaluate({"a.yaml": team("alpha", deletionPolicy="delete"), "b.yaml": team("beta")})
    assert not result.get("Namespace", "alpha").retain_on_delete
    assert result.get("Namespace", "beta").retain_on_delete


def test_changing_members_and_quota_leaves_the_namespace_inputs_unchanged(evaluate):
    before = evaluate({"a.yaml": team("alpha", members=[{"email": "x@y.io", "role": "edit"}])})
    after = evaluate({"a.yaml": team("alpha", members=[{"email": "z@y.io", "role": "view"}], quota={"cpu": "99"})})
    ns_before, ns_after = before.get("Namespace", "alpha"), after.get("Namespace", "alpha")
    assert (ns_before.urn, ns_before.inputs) == (ns_after.urn, ns_after.inputs)
    assert after.get("ResourceQuota", "kf-resource-quota", "alpha").inputs["spec"]["hard"]["requests.cpu"] == "99"


def test_resource_names_do_not_depend_on_other_teams(evaluate):
    one = evaluate({"a.yaml": team("alpha")})
    two = evaluate({"a.yaml": team("alpha"), "b.yaml": team("beta")})
    urns = {r.urn for r in one.objects if r.metadata.get("namespace") == "alpha"}
    assert urns and urns <= {r.urn for r in two.objects}
