"""Profile validation: one case per kind of bad input, each with one precise message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inputs.errors import InputErrors
from inputs.profile import DeletionPolicy, PodSecurity
from inputs.teams import load_profiles, parse_profile
from tests.conftest import team, write_profiles


def only_error(tmp_path, documents, reserved=frozenset({"kubeflow"})) -> str:
    folder = write_profiles(tmp_path / "p", documents)
    with pytest.raises(InputErrors) as caught:
        load_profiles(folder, reserved, relative_to=tmp_path)
    assert len(caught.value.errors) == 1, str(caught.value)
    return str(caught.value.errors[0])


def test_valid_profile_is_parsed_with_defaults(tmp_path):
    folder = write_profiles(tmp_path / "p", {"a.yaml": team("alpha", members=[{"email": "b@x.io", "role": "view"}])})
    (spec,) = load_profiles(folder, frozenset(), relative_to=tmp_path)
    assert spec.name == spec.namespace == "alpha"
    assert spec.source == "p/a.yaml"
    assert [(m.email, m.role) for m in spec.members] == [("b@x.io", "view")]
    assert spec.deletion_policy is DeletionPolicy.RETAIN
    assert spec.pod_security is PodSecurity.RESTRICTED
    assert spec.quota.gpu == 0 and spec.quota.cpu == "8"
    # Nothing reaches outside the cluster, and node disks are bounded, unless the profile says so.
    assert (spec.quota.load_balancers, spec.quota.node_ports) == (0, 0)
    assert spec.quota.ephemeral_storage and spec.quota.ephemeral_storage_limits
    assert spec.container_defaults.limits.ephemeral_storage
    assert spec.adopt is False


def test_raised_quota_and_opt_ins_are_parsed(tmp_path):
    document = team(
        "alpha",
        quota={"loadBalancers": 2, "nodePorts": 3, "ephemeralStorage": "10Gi", "ephemeralStorageLimits": "1Ti"},
        containerDefaults={"requests": {"ephemeralStorage": "1Gi"}, "limits": {"ephemeralStorage": "8Gi"}},
        podSecurity="baseline",
        adopt=True,
    )
    (spec,) = load_profiles(write_profiles(tmp_path / "p", {"a.yaml": document}), frozenset())
    assert (spec.quota.load_balancers, spec.quota.node_ports) == (2, 3)
    assert (spec.quota.ephemeral_storage, spec.quota.ephemeral_storage_limits) == ("10Gi", "1Ti")
    assert spec.container_defaults.requests.ephemeral_storage == "1Gi"
    assert spec.container_defaults.limits.ephemeral_storage == "8Gi"
    assert spec.pod_security is PodSecurity.BASELINE and spec.adopt is True


def test_malformed_yaml(tmp_path):
    message = only_error(tmp_path, {"bad.yaml": "name: [unclosed\nowner: a@b.io\n"})
    assert message.startswith("p/bad.yaml: key 'line ")
    assert "malformed YAML" in message and "allowed: a valid YAML mapping" in message


def test_document_that_is_not_a_mapping(tmp_path):
    message = only_error(tmp_path, {"list.yaml": "- name: x\n"})
    assert "p/list.yaml" in message and "is not a mapping" in message


def test_unknown_top_level_key(tmp_path):
    message = only_error(tmp_path, {"a.yaml": team("alpha", quotas={"cpu": "1"})})
    assert message == (
        "p/a.yaml: key 'quotas': {'cpu': '1'} is not a known key; allowed: adopt, containerDefaults, "
        "deletionPolicy, description, internetEgress, members, name, owner, podSecurity, quota"
    )


def test_unknown_nested_key(tmp_path):
    message = only_error(tmp_path, {"a.yaml": team("alpha", quota={"cpus": "1"})})
    assert message.startswith(
        "p/a.yaml: key 'quota.cpus': '1' is not a known key; allowed: cpu, ephemeralStorage, "
        "ephemeralStorageLimits, gpu, loadBalancers, memory, nodePorts, pods, storage"
    )


def test_unknown_container_default_key(tmp_path):
    message = only_error(tmp_path, {"a.yaml": team("alpha", containerDefaults={"limits": {"disk": "1Gi"}})})
    assert message == (
        "p/a.yaml: key 'containerDefaults.limits.disk': '1Gi' is not a known key; "
        "allowed: cpu, ephemeralStorage, memory"
    )


@pytest.mark.parametrize("name", ["Team_A", "-lead", "trail-", "x" * 51, "a.b", "ÄÖ", ""])
def test_name_not_a_dns_label(tmp_path, name):
    message = only_error(tmp_path, {"a.yaml": team(name)})
    assert f"p/a.yaml: key 'name': {name!r} is not a DNS-1123 label of at most 50 characters" in message
    assert "at most 50 lower-case letters" in message


@given(st.text(min_size=1, max_size=70))
def test_any_accepted_name_is_a_dns_label(name):
    import re

    try:
        spec = parse_profile(team(name), "p.yaml")
    except ValueError:
        return
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", spec.name) and len(spec.name) <= 50


def test_duplicate_team_names(tmp_path):
    message = only_error(tmp_path, {"a.yaml": team("alpha"), "b.yml": team("alpha")})
    assert message == (
        "p/b.yml: key 'name': 'alpha' is already the name of the team in p/a.yaml; "
        "allowed: a team name used by one profile file only"
    )


@pytest.mark.parametrize("name", ["kubeflow", "kube-system", "default", "kube-anything", "kube-public"])
def test_system_and_platform_namespaces_are_refused(tmp_path, name):
    message = only_error(tmp_path, {"a.yaml": team(name)})
    assert f"key 'name': {name!r} is a system or platform namespace" in message


@pytest.mark.parametrize(
    ("key", "quota", "bad"),
    [
        ("quota.cpu", {"cpu": "2 cores"}, "'2 cores'"),
        ("quota.memory", {"memory": "10GB"}, "'10GB'"),
        ("quota.storage", {"storage": "-1Gi"}, "'-1Gi'"),
        ("quota.cpu", {"cpu": True}, "True"),
        ("quota.ephemeralStorage", {"ephemeralStorage": "lots"}, "'lots'"),
        ("quota.ephemeralStorageLimits", {"ephemeralStorageLimits": "1 TB"}, "'1 TB'"),
    ],
)
def test_bad_quantities(tmp_path, key, quota, bad):
    message = only_error(tmp_path, {"a.yaml": team("alpha", quota=quota)})
    assert message.startswith(f"p/a.yaml: key '{key}': {bad} is not a quantity; allowed: a Kubernetes quantity")


@pytest.mark.parametrize("key", ["pods", "loadBalancers", "nodePorts"])
@pytest.mark.parametrize("count", [-1, 1.5, "ten", True])
def test_bad_counts(tmp_path, key, count):
    message = only_error(tmp_path, {"a.yaml": team("alpha", quota={key: count})})
    assert f"key 'quota.{key}': {count!r} is not a whole number" in message
    assert "allowed: an integer of 0 or more" in message


def test_request_above_limit(tmp_path):
    defaults = {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}
    message = only_error(tmp_path, {"a.yaml": team("alpha", containerDefaults=defaults)})
    assert "key 'containerDefaults.requests.cpu': '2' is above the limit 1" in message


def test_ephemeral_storage_request_above_limit(tmp_path):
    defaults = {"requests": {"ephemeralStorage": "4Gi"}, "limits": {"ephemeralStorage": "1Gi"}}
    message = only_error(tmp_path, {"a.yaml": team("alpha", containerDefaults=defaults)})
    assert message == (
        "p/a.yaml: key 'containerDefaults.requests.ephemeralStorage': '4Gi' is above the limit 1Gi; "
        "allowed: a request no larger than containerDefaults.limits.ephemeralStorage"
    )


@pytest.mark.parametrize("adopt", ["yes", 1, None])
def test_adopt_is_a_boolean(tmp_path, adopt):
    message = only_error(tmp_path, {"a.yaml": team("alpha", adopt=adopt)})
    assert message.startswith("p/a.yaml: key 'adopt': ")
    assert message.endswith("is not a boolean; allowed: true or false")


def test_unknown_role(tmp_path):
    message = only_error(tmp_path, {"a.yaml": team("alpha", members=[{"email": "b@x.io", "role": "owner"}])})
    assert message == "p/a.yaml: key 'members[0].role': 'owner' is not allowed; allowed: admin, edit, view"


@pytest.mark.parametrize("email", ["bob", "bob@", "@x.io", "bob@x", "bob smith@x.io", "bob@@x.io"])
def test_malformed_email(tmp_path, email):
    message = only_error(tmp_path, {"a.yaml": team("alpha", members=[{"email": email, "role": "edit"}])})
    assert f"key 'members[0].email': {email!r} is not an e-mail address" in message


def test_malformed_owner(tmp_path):
    message = only_error(tmp_path, {"a.yaml": {"name": "alpha", "owner": "not-an-address"}})
    assert "key 'owner': 'not-an-address' is not an e-mail address" in message


def test_missing_owner(tmp_path):
    message = only_error(tmp_path, {"a.yaml": {"name": "alpha"}})
    assert "key 'owner': (missing) is required" in message


def test_member_listed_twice(tmp_path):
    members = [{"email": "b@x.io", "role": "edit"}, {"email": "B@x.io", "role": "view"}]
    message = only_error(tmp_path, {"a.yaml": team("alpha", members=members)})
    assert "key 'members[1].email': 'B@x.io' is listed twice" in message


@pytest.mark.parametrize(("key", "value"), [("deletionPolicy", "purge"), ("podSecurity", "privileged")])
def test_unknown_policies(tmp_path, key, value):
    message = only_error(tmp_path, {"a.yaml": team("alpha", **{key: value})})
    assert f"key '{key}': {value!r} is not allowed; allowed:" in message


def test_every_bad_file_is_reported(tmp_path):
    folder = write_profiles(tmp_path / "p", {"a.yaml": team("Bad"), "b.yaml": team("good"), "c.yaml": "[\n"})
    with pytest.raises(InputErrors) as caught:
        load_profiles(folder, frozenset(), relative_to=tmp_path)
    assert [e.source for e in caught.value.errors] == ["p/a.yaml", "p/c.yaml"]


@pytest.mark.parametrize("value", ["yes", "true", 1, ["all"]])
def test_internet_egress_is_a_boolean(tmp_path, value):
    message = only_error(tmp_path, {"a.yaml": team("alpha", internetEgress=value)})
    assert message == f"p/a.yaml: key 'internetEgress': {value!r} is not a boolean; allowed: true or false"
