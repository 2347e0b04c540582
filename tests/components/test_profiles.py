"""Profiles: what each team namespace receives, asserted on the registered inputs."""

from __future__ import annotations

import pytest

from components.platform import PLATFORM_NAMESPACE
from components.profiles import (
    ADOPT_ANNOTATION,
    ALLOW_LOAD_BALANCERS,
    ALLOW_NODE_PORTS,
    PROFILE_ANNOTATION,
    TEAM_LABEL,
    member_binding_name,
)
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
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    assert ns.metadata["annotations"]["owner"] == "alice@example.com"
    assert ns.metadata["annotations"][PROFILE_ANNOTATION] == "profiles/vision.yaml"
    assert ns.retain_on_delete and not ns.protect


def test_pod_security_is_restricted_unless_the_profile_asks_for_baseline(evaluate):
    result = evaluate({"a.yaml": team("alpha"), "b.yaml": team("beta", podSecurity="baseline")})
    enforced = {
        name: result.get("Namespace", name).metadata["labels"]["pod-security.kubernetes.io/enforce"]
        for name in ("alpha", "beta")
    }
    assert enforced == {"alpha": "restricted", "beta": "baseline"}


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
        # the pipelines artifact server, allowed to read the team's key Secret only
        ("ServiceAccount", "ml-pipeline-ui-artifact"): "ml-pipeline-ui-artifact",
        # the dashboard's activity view, allowed to list the namespace's events only
        ("ServiceAccount", "centraldashboard"): "centraldashboard-events",
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
        "requests.ephemeral-storage": "50Gi",
        "limits.ephemeral-storage": "200Gi",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    limits = platform.get("LimitRange", "container-defaults", "vision").inputs["spec"]["limits"][0]
    assert limits["defaultRequest"] == {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "256Mi"}
    assert limits["default"] == {"cpu": "2", "memory": "8Gi", "ephemeral-storage": "2Gi"}
    forecasting = platform.get("ResourceQuota", "kf-resource-quota", "forecasting").inputs["spec"]["hard"]
    assert forecasting["requests.nvidia.com/gpu"] == "0"  # no GPUs unless the profile asks


def test_ephemeral_storage_and_exposure_quota_follow_the_profile(evaluate):
    result = evaluate(
        {
            "a.yaml": team(
                "alpha",
                quota={"ephemeralStorage": "5Gi", "ephemeralStorageLimits": "20Gi", "loadBalancers": 1, "nodePorts": 2},
                containerDefaults={"requests": {"ephemeralStorage": "100Mi"}, "limits": {"ephemeralStorage": "1Gi"}},
            )
        }
    )
    hard = result.get("ResourceQuota", "kf-resource-quota", "alpha").inputs["spec"]["hard"]
    assert hard["requests.ephemeral-storage"] == "5Gi" and hard["limits.ephemeral-storage"] == "20Gi"
    assert hard["services.loadbalancers"] == "1" and hard["services.nodeports"] == "2"
    limits = result.get("LimitRange", "container-defaults", "alpha").inputs["spec"]["limits"][0]
    assert limits["defaultRequest"]["ephemeral-storage"] == "100Mi"
    assert limits["default"]["ephemeral-storage"] == "1Gi"


def test_quota_is_enforced_only_once_the_limit_range_supplies_defaults(platform):
    quota = platform.get("ResourceQuota", "kf-resource-quota", "nlp")
    limits = platform.get("LimitRange", "container-defaults", "nlp")
    assert limits.urn in quota.dependencies


@pytest.mark.parametrize(
    ("quota", "allowed"),
    [
        ({}, set()),
        ({"loadBalancers": 1}, {ALLOW_LOAD_BALANCERS}),
        ({"nodePorts": 3}, {ALLOW_NODE_PORTS}),
        ({"loadBalancers": 1, "nodePorts": 2}, {ALLOW_LOAD_BALANCERS, ALLOW_NODE_PORTS}),
        ({"loadBalancers": 0, "nodePorts": 0}, set()),
    ],
)
def test_service_types_beyond_cluster_ip_are_labelled_only_with_quota(evaluate, quota, allowed):
    labels = evaluate({"a.yaml": team("alpha", quota=quota)}).get("Namespace", "alpha").metadata["labels"]
    exposure = {k for k in labels if k in (ALLOW_LOAD_BALANCERS, ALLOW_NODE_PORTS)}
    assert exposure == allowed
    assert all(labels[k] == "true" for k in exposure)


def test_adopt_annotates_the_namespace_only_when_asked(evaluate):
    result = evaluate({"a.yaml": team("alpha", adopt=True), "b.yaml": team("beta")})
    assert result.get("Namespace", "alpha").metadata["annotations"][ADOPT_ANNOTATION] == "true"
    assert ADOPT_ANNOTATION not in result.get("Namespace", "beta").metadata["annotations"]
    source = result.get("Namespace", "beta").metadata["annotations"][PROFILE_ANNOTATION]
    assert source.endswith("/profiles/b.yaml")


def policy(platform, name):
    return platform.get("ValidatingAdmissionPolicy", name).object["spec"]


def test_service_policy_guards_team_namespaces_by_the_team_label(platform):
    spec = policy(platform, "mlplatform-team-services")
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert (rule["apiGroups"], rule["resources"]) == ([""], ["services"])
    assert sorted(rule["operations"]) == ["CREATE", "UPDATE"]
    assert spec["failurePolicy"] == "Fail"
    checks = " ".join(v["expression"] for v in spec["validations"])
    assert "externalIPs" in checks and "'ExternalName'" in checks
    # The labels the policy admits LoadBalancer and NodePort by are the ones a profile's quota sets.
    for service_type, label in (("LoadBalancer", ALLOW_LOAD_BALANCERS), ("NodePort", ALLOW_NODE_PORTS)):
        (check,) = [v["expression"] for v in spec["validations"] if f"'{service_type}'" in v["expression"]]
        assert f"namespaceObject.metadata.labels['{label}'] == 'true'" in check
    binding = platform.get("ValidatingAdmissionPolicyBinding", "mlplatform-team-services").object["spec"]
    assert binding["policyName"] == "mlplatform-team-services" and binding["validationActions"] == ["Deny"]
    assert binding["matchResources"]["namespaceSelector"] == {
        "matchExpressions": [{"key": TEAM_LABEL, "operator": "Exists"}]
    }
    # Team roles cannot touch namespaces, so no team member can drop the label to escape the policy; platform
    # accounts at most read them (Katib's controller and UI list them, as upstream).
    for role in platform.of_kind("ClusterRole"):
        team_role = role.metadata["name"].startswith("kubeflow-") or any(
            key.startswith("rbac.authorization.kubeflow.org/aggregate-to-kubeflow-") for key in role.metadata["labels"]
        )
        for rule in role.object.get("rules", []):
            if "namespaces" in rule["resources"]:
                assert not team_role and set(rule["verbs"]) <= {"get", "list", "watch"}, role.urn


def test_namespace_policy_refuses_taking_over_an_unlabelled_namespace_without_adopt(platform):
    spec = policy(platform, "mlplatform-team-namespaces")
    (rule,) = spec["matchConstraints"]["resourceRules"]
    # UPDATE only: creating a new team namespace is not affected.
    assert (rule["resources"], rule["operations"]) == (["namespaces"], ["UPDATE"])
    (condition,) = spec["matchConditions"]
    assert f"'{TEAM_LABEL}' in object.metadata.labels" in condition["expression"]
    assert f"'{TEAM_LABEL}' in oldObject.metadata.labels" in condition["expression"]
    (check,) = spec["validations"]
    assert f"object.metadata.annotations['{ADOPT_ANNOTATION}'] == 'true'" in check["expression"]
    assert f"object.metadata.annotations['{PROFILE_ANNOTATION}']" in check["messageExpression"]
    binding = platform.get("ValidatingAdmissionPolicyBinding", "mlplatform-team-namespaces").object["spec"]
    assert binding["policyName"] == "mlplatform-team-namespaces" and binding["validationActions"] == ["Deny"]


def test_team_namespaces_wait_for_the_admission_policies(platform):
    required = {
        r.urn
        for r in platform.objects
        if r.kind.startswith("ValidatingAdmissionPolicy") and r.metadata["name"].startswith("mlplatform-team-")
    }
    assert len(required) == 4
    for namespace in ("forecasting", "nlp", "vision"):
        ns = platform.get("Namespace", namespace)
        assert required <= set(ns.dependencies), ns.urn


def test_network_isolation(platform):
    policy = platform.get("NetworkPolicy", "team-isolation", "vision").inputs["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"from": [{"podSelector": {}}]}]
    own, dns, *platform_services = policy["egress"]
    assert own == {"to": [{"podSelector": {}}]}
    assert dns["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    peers = {
        rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for rule in platform_services
    }
    assert peers == {PLATFORM_NAMESPACE, "kubeflow-mlflow"}  # the shared services, and the team's MLflow server
    assert not any("ipBlock" in p for rule in policy["egress"] for p in rule["to"])  # no internet by default
    # The platform admits the team by its name, which only the API server sets.
    admitted = platform.get("NetworkPolicy", "team-vision-ml-pipeline", PLATFORM_NAMESPACE).inputs["spec"]
    assert admitted["ingress"][0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "vision"}}}
    ]


def test_removing_a_team_leaves_a_deny_all_policy(platform):
    deny = platform.get("NetworkPolicy", "default-deny", "vision")
    assert deny.retain_on_delete
    assert deny.inputs["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    team_policies = [
        p for p in platform.of_kind("NetworkPolicy") if p.metadata["labels"].get("mlplatform.io/team") == "vision"
    ]
    assert len(team_policies) >= 5
    assert [p.metadata["name"] for p in team_policies if p.retain_on_delete] == ["default-deny"]


@pytest.mark.parametrize(
    ("config", "ports"),
    [
        ({}, None),
        (
            {"objectStoreEndpoint": "s3.example.com", "objectStoreBucket": "ml-bucket"},
            [{"port": 443, "protocol": "TCP"}],
        ),
    ],
)
def test_an_object_store_outside_the_cluster_is_reached_on_its_port_only(evaluate, config, ports):
    secrets = {"objectStoreAccessKey": "AKIA0000", "objectStoreSecretKey": "s3cr3t"} if config else {}
    rendered = evaluate({"a.yaml": team("alpha")}, secret=tuple(secrets), **config, **secrets)
    egress = rendered.get("NetworkPolicy", "team-isolation", "alpha").object["spec"]["egress"]
    public = [rule for rule in egress if any("ipBlock" in p for p in rule["to"])]
    if ports is None:
        assert public == []
    else:
        (rule,) = public
        assert rule["ports"] == ports
        assert "169.254.0.0/16" in rule["to"][0]["ipBlock"]["except"]


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
