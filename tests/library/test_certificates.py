"""The platform's own certificates: the providers called directly (real keys and certificates, no
engine), a real TLS handshake with them, and their wiring into Secrets and caBundle under the mocks."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import ssl
import threading

import pulumi
import pytest
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from library import certificates, k8s, x509
from library.certificates import (
    CertificateAuthority,
    CertificateAuthorityArgs,
    CertificateAuthorityProvider,
    ServingCertificate,
    ServingCertificateArgs,
    ServingCertificateProvider,
)
from tools.evaluate import MOCK_NOT_AFTER, is_secret, reveal, run

NAMES = ["admission-webhook-service.kubeflow.svc", "admission-webhook-service.kubeflow.svc.cluster.local"]


def make_ca(validity_days=3650, renew_before_days=365, common_name="mlplatform webhooks"):
    props = {"common_name": common_name, "validity_days": validity_days, "renew_before_days": renew_before_days}
    return {**props, **CertificateAuthorityProvider().create(props).outs}


def serving_props(ca, dns_names=NAMES, validity_days=365, renew_before_days=30):
    return {
        "ca_cert_pem": ca["cert_pem"],
        "ca_key_pem": ca["key_pem"],
        "dns_names": list(dns_names),
        "validity_days": validity_days,
        "renew_before_days": renew_before_days,
    }


def issue(ca, **kwargs):
    props = serving_props(ca, **kwargs)
    return props, ServingCertificateProvider().create(props)


def load(pem: str) -> cx509.Certificate:
    return cx509.load_pem_x509_certificate(pem.encode())


@pytest.fixture(scope="module")
def ca():
    return make_ca()


def at(monkeypatch, when: dt.datetime) -> None:
    monkeypatch.setattr(x509, "now", lambda: when)


def test_ca_is_a_ca(ca):
    cert = load(ca["cert_pem"])
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)  # self-signed
    constraints = cert.extensions.get_extension_for_class(cx509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(cx509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    key = serialization.load_pem_private_key(ca["key_pem"].encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    days = (cert.not_valid_after_utc - x509.now()).days
    assert 3649 <= days <= 3650
    assert ca["bundle_pem"] == ca["cert_pem"] and ca["previous_cert_pem"] == ""


def test_serving_certificate_is_signed_by_the_ca_for_its_names(ca):
    _, result = issue(ca)
    cert = load(result.outs["cert_pem"])
    cert.verify_directly_issued_by(load(ca["cert_pem"]))
    assert (
        cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value.get_values_for_type(cx509.DNSName)
        == NAMES
    )
    assert list(cert.extensions.get_extension_for_class(cx509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert not cert.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(cx509.KeyUsage).value.digital_signature
    assert 364 <= (cert.not_valid_after_utc - x509.now()).days <= 365
    assert result.outs["not_after"] == cert.not_valid_after_utc.isoformat()
    assert result.id == format(cert.serial_number, "x")
    key = serialization.load_pem_private_key(result.outs["key_pem"].encode(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert "ca_key_pem" not in result.outs  # the CA key is not copied into this resource's outputs


def test_serving_certificate_never_outlives_its_ca():
    short_ca = make_ca(validity_days=10, renew_before_days=1)
    _, result = issue(short_ca, validity_days=365)
    assert load(result.outs["cert_pem"]).not_valid_after_utc == load(short_ca["cert_pem"]).not_valid_after_utc


def test_a_key_of_another_ca_is_refused(ca):
    other = make_ca(common_name="other")
    with pytest.raises(ValueError, match="does not belong"):
        ServingCertificateProvider().create({**serving_props(ca), "ca_key_pem": other["key_pem"]})


def test_no_change_while_fresh_replacement_inside_the_renewal_window(ca, monkeypatch):
    props, result = issue(ca)
    provider = ServingCertificateProvider()
    olds = result.outs
    assert not provider.diff(result.id, olds, props).changes
    end = dt.datetime.fromisoformat(olds["not_after"])
    at(monkeypatch, end - dt.timedelta(days=30, seconds=1))  # one second before the window opens
    assert not provider.diff(result.id, olds, props).changes
    at(monkeypatch, end - dt.timedelta(days=30))
    diff = provider.diff(result.id, olds, props)
    assert diff.changes and diff.replaces == ["not_after"] and diff.delete_before_replace is False
    # a longer renew-before opens the window earlier: config drives it, not only time
    at(monkeypatch, end - dt.timedelta(days=100))
    assert not provider.diff(result.id, olds, props).changes
    assert provider.diff(result.id, olds, {**props, "renew_before_days": 120}).replaces == ["not_after"]


def test_new_names_or_a_new_ca_replace_the_certificate(ca):
    props, result = issue(ca)
    diff = ServingCertificateProvider().diff
    assert diff(result.id, result.outs, {**props, "dns_names": NAMES[:1]}).replaces == ["dns_names"]
    assert diff(result.id, result.outs, {**props, "validity_days": 90}).replaces == ["validity_days"]
    other = make_ca(common_name="other")
    assert diff(result.id, result.outs, serving_props(other)).replaces == ["ca_cert_pem"]
    # the engine's wire format turns numbers into doubles: not a change
    assert not diff(result.id, result.outs, {**props, "validity_days": 365.0, "renew_before_days": 30.0}).changes


def test_renewing_a_serving_certificate_keeps_the_ca(ca, monkeypatch):
    props, first = issue(ca)
    at(monkeypatch, dt.datetime.fromisoformat(first.outs["not_after"]) - dt.timedelta(days=29))
    assert ServingCertificateProvider().diff(first.id, first.outs, props).replaces == ["not_after"]
    renewed = ServingCertificateProvider().create(props)  # what the engine's replacement does
    ca_provider_props = {k: ca[k] for k in ("common_name", "validity_days", "renew_before_days")}
    assert not CertificateAuthorityProvider().diff("ca", ca, ca_provider_props).changes
    assert renewed.outs["cert_pem"] != first.outs["cert_pem"] and renewed.outs["key_pem"] != first.outs["key_pem"]
    load(renewed.outs["cert_pem"]).verify_directly_issued_by(load(ca["bundle_pem"]))


def test_ca_renewal_keeps_the_previous_ca_in_the_bundle(monkeypatch):
    old = make_ca(validity_days=3650, renew_before_days=365)
    news = {k: old[k] for k in ("common_name", "validity_days", "renew_before_days")}
    provider = CertificateAuthorityProvider()
    assert not provider.diff("ca", old, news).changes
    at(monkeypatch, dt.datetime.fromisoformat(old["not_after"]) - dt.timedelta(days=300))
    diff = provider.diff("ca", old, news)
    assert diff.changes and diff.replaces == []  # updated in place: the resource stays
    _, old_serving = issue(old)
    new = {**news, **provider.update("ca", old, news).outs}
    assert new["cert_pem"] != old["cert_pem"] and new["previous_cert_pem"] == old["cert_pem"]
    assert new["bundle_pem"] == new["cert_pem"] + old["cert_pem"]
    # serving certificates follow the new CA; until they are replaced, the old ones still verify
    assert ServingCertificateProvider().diff("s", old_serving.outs, serving_props(new)).replaces == ["ca_cert_pem"]
    bundle = cx509.load_pem_x509_certificates(new["bundle_pem"].encode())
    assert [c.subject for c in bundle] == [load(new["cert_pem"]).subject, load(old["cert_pem"]).subject]
    for pem in (old_serving.outs["cert_pem"], issue(new)[1].outs["cert_pem"]):
        assert sum(_issued_by(load(pem), c) for c in bundle) == 1


def _issued_by(cert: cx509.Certificate, issuer: cx509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, InvalidSignature):
        return False
    return True


def _serve_once(cert_pem: str, key_pem: str, tmp_path) -> tuple[int, threading.Thread, list]:
    (tmp_path / "tls.crt").write_text(cert_pem)
    (tmp_path / "tls.key").write_text(key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    listener = socket.create_server(("127.0.0.1", 0))
    errors: list = []

    def serve():
        with listener:
            for _ in range(2):  # one good client, one that must refuse the certificate
                conn, _addr = listener.accept()
                try:
                    with server_context.wrap_socket(conn, server_side=True) as tls:
                        tls.sendall(tls.recv(5).upper())
                except (ssl.SSLError, OSError) as error:
                    errors.append(error)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread, errors


def test_tls_handshake_trusting_only_the_ca(ca, tmp_path):
    _, result = issue(ca)
    port, thread, _errors = _serve_once(result.outs["cert_pem"], result.outs["key_pem"], tmp_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no default roots: the CA bundle is the only trust
    client.load_verify_locations(cadata=ca["bundle_pem"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with client.wrap_socket(raw, server_hostname=NAMES[1]) as tls:
            tls.sendall(b"hello")
            assert tls.recv(5) == b"HELLO"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            client.wrap_socket(raw, server_hostname="other-service.kubeflow.svc")
    thread.join(timeout=10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"dns_names": []}, "at least one DNS name"),
        ({"dns_names": ["Bad_Name.svc"]}, "'Bad_Name.svc' is not a lower-case DNS name"),
        ({"validity_days": 0}, "validity_days: 0 is not a whole number"),
        ({"renew_before_days": 365}, r"renew_before_days: 365 must be a whole number of days from 1 to .* \(364\)"),
    ],
)
def test_serving_args_are_checked(args, message):
    def program():
        ca = CertificateAuthority("ca", CertificateAuthorityArgs(common_name="c"))
        fields = {"ca": ca, "dns_names": NAMES, "validity_days": 365, "renew_before_days": 30, **args}
        with pytest.raises(ValueError, match=message):
            ServingCertificateArgs(**fields)

    run(program)


def test_secret_and_ca_bundle_wiring_under_mocks():
    seen: dict = {}

    def program():
        ca = CertificateAuthority("webhooks-ca", CertificateAuthorityArgs(common_name="mlplatform webhooks"))
        cert = ServingCertificate(
            "poddefaults", ServingCertificateArgs(ca=ca, dns_names=NAMES, validity_days=90, renew_before_days=10)
        )
        secret = certificates.tls_secret("webhook-certs", "kubeflow", {"app": "poddefaults"}, cert)
        k8s.register(secret, "test", pulumi.ResourceOptions())
        certificates.ca_bundle(ca).apply(lambda v: seen.setdefault("ca_bundle", v))
        key_in_secret = secret["stringData"]["tls.key"]
        pulumi.Output.all(
            ca.key_pem.is_secret(), cert.key_pem.is_secret(), key_in_secret.is_secret(), cert.not_after
        ).apply(lambda v: seen.setdefault("outputs", v))

    regs = {r.name: r for r in run(program)}
    ca, cert = regs["webhooks-ca"], regs["poddefaults"]
    assert ca.type == "pulumi-python:dynamic/mlplatform:CertificateAuthority"
    assert cert.type == "pulumi-python:dynamic/mlplatform:ServingCertificate"
    assert ca.inputs["common_name"] == "mlplatform webhooks" and ca.inputs["validity_days"] == 3650
    assert reveal(cert.inputs["dns_names"]) == NAMES
    assert (cert.inputs["validity_days"], cert.inputs["renew_before_days"]) == (90, 10)
    assert is_secret(cert.inputs["ca_key_pem"])  # the CA key reaches the serving certificate as a secret
    assert ca.urn in cert.dependencies
    secret = regs["test:kubeflow/webhook-certs"]
    assert secret.inputs["type"] == "kubernetes.io/tls"
    data = reveal(secret.inputs["stringData"])
    assert sorted(data) == ["ca.crt", "tls.crt", "tls.key"]
    assert reveal(data["tls.key"]).startswith("-----BEGIN PRIVATE KEY-----")
    assert "mock certificate of poddefaults" in base64.b64decode(reveal(data["tls.crt"]).splitlines()[1]).decode()
    assert "mock certificate of webhooks-ca" in base64.b64decode(reveal(data["ca.crt"]).splitlines()[1]).decode()
    assert base64.b64decode(seen["ca_bundle"]).decode() == reveal(data["ca.crt"])
    assert seen["outputs"] == [True, True, True, MOCK_NOT_AFTER]
