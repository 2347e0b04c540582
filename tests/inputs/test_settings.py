"""Stack settings: declared once in Pulumi.yaml, validated with one message per bad key."""

from __future__ import annotations

import pytest

from inputs import settings
from inputs.errors import InputError
from inputs.settings import PROJECT_DIR, Distribution, Size


def load(**raw):
    return settings.load({f"mlplatform:{k}": v for k, v in raw.items()}, "Pulumi.dev.yaml")


def test_defaults_come_from_pulumi_yaml():
    declared = settings.declared_config()
    loaded = load()
    assert loaded.distribution is Distribution(declared["distribution"]["default"])
    assert loaded.size is Size(declared["size"]["default"])
    assert loaded.profiles_dir == PROJECT_DIR / declared["profilesDir"]["default"]
    assert loaded.image_registry == declared["imageRegistry"]["default"]
    assert loaded.host == declared["host"]["default"]


def test_every_declared_key_has_type_default_and_description():
    for key, spec in settings.declared_config().items():
        assert {"type", "default", "description"} <= set(spec), key
        # a secret's default is empty: anything else would sit in Pulumi.yaml in plain text
        assert not spec.get("secret") or spec["default"] == "", key


def test_other_namespaces_are_ignored():
    assert load(**{}).size is Size.SMALL
    assert settings.load({"kubernetes:context": "kind-x", "aws:region": "eu-west-1"}, "P.yaml").size is Size.SMALL


def test_unknown_key():
    with pytest.raises(InputError) as caught:
        load(sise="large")
    message = str(caught.value)
    assert message.startswith(
        "Pulumi.dev.yaml: key 'mlplatform:sise': 'large' is not a setting of this project; allowed: "
    )
    allowed = message.split("allowed: ")[1].split(", ")
    assert allowed == sorted(f"mlplatform:{k}" for k in settings.declared_config())
    assert "mlplatform:size" in allowed


def test_unknown_distribution():
    with pytest.raises(InputError) as caught:
        load(distribution="openshift")
    assert str(caught.value) == (
        "Pulumi.dev.yaml: key 'mlplatform:distribution': 'openshift' is not allowed; allowed: "
        + ", ".join(d.value for d in Distribution)
    )


def test_unknown_size():
    with pytest.raises(InputError, match="key 'mlplatform:size': 'huge' is not allowed; allowed: small, medium, large"):
        load(size="huge")


@pytest.mark.parametrize("host", ["ML.example.com", "ml_example.com", "-ml.example.com", "ml..example.com", "a" * 254])
def test_bad_host(host):
    with pytest.raises(InputError, match="key 'mlplatform:host'.*is not a DNS name"):
        load(host=host)


@pytest.mark.parametrize("registry", ["registry.internal:5000/mirror", "localhost:5000", "mirror.example.com/a/b"])
def test_good_registry(registry):
    assert load(imageRegistry=registry + "/").image_registry == registry


@pytest.mark.parametrize("registry", ["https://registry.example.com", "reg istry", "registry:port", "r/UPPER"])
def test_bad_registry(registry):
    with pytest.raises(InputError, match="key 'mlplatform:imageRegistry'.*is not a registry reference"):
        load(imageRegistry=registry)


def test_missing_profiles_folder(tmp_path):
    with pytest.raises(InputError, match="key 'mlplatform:profilesDir': .* is not a folder"):
        load(profilesDir=str(tmp_path / "nope"))


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False)])
def test_tracking_flag(raw, expected):
    assert load(tracking=raw).tracking is expected


@pytest.mark.parametrize(("raw", "expected"), [(None, True), ("true", True), ("false", False)])
def test_training_flag(raw, expected):
    assert (load() if raw is None else load(training=raw)).training is expected


def test_bad_training_flag():
    with pytest.raises(InputError, match="key 'mlplatform:training': 'no' is not a boolean; allowed: true, false"):
        load(training="no")


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False)])
def test_tuning_flag(raw, expected):
    assert load(tuning=raw).tuning is expected
    assert load().tuning is True


@pytest.mark.parametrize(("raw", "expected"), [(None, True), ("true", True), ("false", False)])
def test_serving_flag(raw, expected):
    assert (load() if raw is None else load(serving=raw)).serving is expected


def test_bad_flag():
    with pytest.raises(InputError, match="key 'mlplatform:tracking': 'yes' is not a boolean; allowed: true, false"):
        load(tracking="yes")


def test_kubernetes_api_addresses():
    assert load().kubernetes_api_cidrs == ()
    assert load(kubernetesApiCidrs='["172.18.0.2/32", "fd00::/64"]').kubernetes_api_cidrs == (
        "172.18.0.2/32",
        "fd00::/64",
    )


@pytest.mark.parametrize("cidr", ["172.18.0.2/33", "10.0.0.1/8", "api.example.com", ""])
def test_bad_kubernetes_api_address(cidr):
    with pytest.raises(InputError) as caught:
        load(kubernetesApiCidrs=f'["{cidr}"]')
    assert str(caught.value).startswith(f"Pulumi.dev.yaml: key 'mlplatform:kubernetesApiCidrs': {cidr!r} is not a CIDR")


def test_certificate_lifetimes():
    declared = settings.declared_config()
    loaded = load()
    assert loaded.certificate_validity_days == declared["certificateValidityDays"]["default"] == 365
    assert loaded.certificate_renew_before_days == declared["certificateRenewBeforeDays"]["default"] == 30
    given = load(certificateValidityDays="90", certificateRenewBeforeDays="20")  # as the engine hands them over
    assert (given.certificate_validity_days, given.certificate_renew_before_days) == (90, 20)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"certificateRenewBeforeDays": "30", "certificateValidityDays": "30"},
            "key 'mlplatform:certificateRenewBeforeDays': 30 is not smaller than mlplatform:certificateValidityDays "
            "(30); allowed: a whole number of days from 1 to 29",
        ),
        (
            {"certificateValidityDays": "900"},
            "key 'mlplatform:certificateValidityDays': '900' is not a whole number in range; "
            "allowed: an integer from 2 to 825",
        ),
        (
            {"certificateRenewBeforeDays": "0"},
            "key 'mlplatform:certificateRenewBeforeDays': '0' is not a whole number in range; "
            "allowed: an integer from 1 to 825",
        ),
        (
            {"certificateValidityDays": "a year"},
            "key 'mlplatform:certificateValidityDays': 'a year' is not a whole number in range",
        ),
    ],
)
def test_bad_certificate_lifetimes(raw, message):
    with pytest.raises(InputError) as caught:
        load(**raw)
    assert str(caught.value).startswith(f"Pulumi.dev.yaml: {message}")


# --- Notebooks (components/notebooks.py): on by default, culling off by default as upstream.


def test_notebooks_on_and_culling_off_by_default():
    loaded = load()
    assert loaded.notebooks is True
    assert loaded.notebook_culling.enabled is False
    assert (loaded.notebook_culling.idle_minutes, loaded.notebook_culling.check_minutes) == (1440, 1)


def test_notebook_culling_settings():
    culling = load(notebookCulling="true", notebookIdleMinutes="60", notebookIdleCheckMinutes=5).notebook_culling
    assert (culling.enabled, culling.idle_minutes, culling.check_minutes) == (True, 60, 5)
    assert load(notebooks="false").notebooks is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"notebookIdleMinutes": 5},
            "key 'mlplatform:notebookIdleMinutes': 5 is not a whole number in range; "
            "allowed: an integer from 10 to 43200",
        ),
        (
            {"notebookIdleMinutes": 30, "notebookIdleCheckMinutes": 31},
            "key 'mlplatform:notebookIdleCheckMinutes': 31 is longer than mlplatform:notebookIdleMinutes (30); "
            "allowed: a whole number of minutes from 1 to 30",
        ),
        ({"notebookCulling": "sometimes"}, "key 'mlplatform:notebookCulling': 'sometimes' is not a boolean"),
    ],
)
def test_bad_notebook_settings(raw, message):
    with pytest.raises(InputError) as caught:
        load(**raw)
    assert message in str(caught.value)
