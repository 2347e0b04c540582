"""The certificates' dynamic resources under the real engine and provider plugin script, with their
`kubernetes.io/tls` Secret on a real API server: created once, unchanged while fresh, renewed (new
certificate, same CA) once the renewal window is open, keys never in plain text in the state."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509

from tests.cluster.conftest import Project

pytestmark = pytest.mark.cluster

NAMES = ["admission-webhook-service.kubeflow.svc", "admission-webhook-service.kubeflow.svc.cluster.local"]

PROGRAM = f'''
"""A CA, a serving certificate and its Secret, as a component would make them."""
import pulumi

from library import k8s
from library.certificates import (
    CertificateAuthority, CertificateAuthorityArgs, ServingCertificate, ServingCertificateArgs, ca_bundle, tls_secret,
)

config = pulumi.Config("mlplatform")
ca = CertificateAuthority("webhooks-ca", CertificateAuthorityArgs(common_name="mlplatform webhooks"))
cert = ServingCertificate("poddefaults", ServingCertificateArgs(
    ca=ca, dns_names={NAMES!r},
    validity_days=config.require_int("certificateValidityDays"),
    renew_before_days=config.require_int("certificateRenewBeforeDays"),
))
k8s.register(tls_secret("webhook-certs", "default", {{"app": "poddefaults"}}, cert), "certs", pulumi.ResourceOptions())
pulumi.export("ca_bundle", ca_bundle(ca))
pulumi.export("not_after", cert.not_after)
'''


@pytest.fixture(scope="module")
def project(cluster, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("certs"), cluster, "certs")
    (project.dir / "__main__.py").write_text(PROGRAM)
    return project


def secret_data(project: Project) -> dict[str, str]:
    secret = json.loads(project.kubectl("get", "secret", "webhook-certs", "-n", "default", "-o", "json").stdout)
    assert secret["type"] == "kubernetes.io/tls"
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_up_makes_a_secret_the_ca_verifies(project):
    project.up()
    data = secret_data(project)
    cert = x509.load_pem_x509_certificate(data["tls.crt"].encode())
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(data["ca.crt"].encode()))
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == NAMES
    assert 364 <= (cert.not_valid_after_utc - dt.datetime.now(dt.UTC)).days <= 365  # the default validity
    outputs = json.loads(project.pulumi("stack", "output", "--json").stdout)
    assert base64.b64decode(outputs["ca_bundle"]).decode() == data["ca.crt"]
    # private keys are secrets in the state: never there in plain text
    state = json.dumps(project.state())
    assert data["tls.key"].splitlines()[1] not in state and "PRIVATE KEY" not in state


def test_nothing_changes_while_fresh(project):
    project.pulumi("preview", "--expect-no-changes")


def test_renewal_window_replaces_the_certificate_and_keeps_the_ca(project):
    before = secret_data(project)
    # Time passes: the certificate's recorded end moves to within the renewal window (30 days).
    state = project.state()
    for resource in state["deployment"]["resources"]:
        if resource["type"].endswith(":ServingCertificate"):
            resource["outputs"]["not_after"] = (dt.datetime.now(dt.UTC) + dt.timedelta(days=29)).isoformat()
    (project.dir / "aged.json").write_text(json.dumps(state))
    project.pulumi("stack", "import", "--file", "aged.json")
    ops = {s["urn"].rsplit("::", 1)[1]: s["op"] for s in project.preview_steps()}
    assert ops.get("poddefaults") == "replace" and ops.get("webhooks-ca", "same") == "same"
    project.up()
    after = secret_data(project)
    assert after["ca.crt"] == before["ca.crt"]
    assert after["tls.crt"] != before["tls.crt"] and after["tls.key"] != before["tls.key"]
    project.pulumi("preview", "--expect-no-changes")
