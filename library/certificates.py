"""Certificates the platform issues itself: one long-lived CA, and serving certificates it signs for
admission webhooks and the entry point, kept as Pulumi resources (Python dynamic resources).

Neither cert-manager nor the Pulumi `tls` provider can be built here (the Go module proxy serves
neither binary), so the certificates are made by the program's own `cryptography` (library/x509.py
says which keys and extensions, and why) inside a dynamic provider: no plugin to build, no network.

    ca = CertificateAuthority("webhooks-ca", CertificateAuthorityArgs(common_name="mlplatform webhooks"))
    cert = ServingCertificate("poddefaults-webhook", ServingCertificateArgs(
        ca=ca, dns_names=["admission-webhook-service.kubeflow.svc"],
        validity_days=settings.certificate_validity_days,
        renew_before_days=settings.certificate_renew_before_days))
    Secret from tls_secret("webhook-certs", "kubeflow", labels, cert); caBundle: ca_bundle(ca)

Lifetime. Keys are made when the resource is created and kept encrypted in the stack's state (the
private keys are Pulumi secrets). Nothing changes while a certificate is fresh: `pulumi preview`
shows no change. Once a serving certificate is within `renew_before_days` of its end, the next
`pulumi preview` shows it replaced and `pulumi up` issues a new key and certificate (the Secret
follows; servers that watch their mounted files, like controller-runtime webhook servers, pick it
up; a server that reads them once needs a rollout, which is its component's concern). So run `pulumi up` at least every
`renew_before_days` days (`not_after` is there for monitoring). A serving certificate is also
replaced when its DNS names, its validity or its CA change. The CA is signed for `validity_days`
(10 years by default) and is not touched when a serving certificate renews, so `caBundle` fields stay
as they are. When the CA itself is renewed (within its own `renew_before_days`, or when its name or
validity change) it is updated in place: `bundle_pem` then holds the new and the previous CA, so
the API server trusts webhook servers still presenting a certificate of the old CA until the kubelet
has refreshed their Secret, and every serving certificate is replaced in the same `pulumi up`.

Engine. The resources' types are `pulumi-python:dynamic/mlplatform:CertificateAuthority` and
`...:ServingCertificate` (a rename needs aliases). The engine runs them through the plugin script
`pulumi-resource-pulumi-python` next to the pulumi binary (tools/cluster/build.sh `pulumi-dynamic`),
which imports this module by name from the project folder (the providers are pickled by reference,
so editing this file does not show as a change). Under the test mocks (tools/evaluate.py) they
report made-up PEM text that no parser takes for a certificate; the real generation is tested by
calling the providers directly.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from library import x509
from library.secrets import secret

_DNS_NAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _days(value: Any) -> int:
    return int(value)  # the engine's wire format carries every number as a double


class CertificateAuthorityProvider(ResourceProvider):
    """Creates the CA; renews it in place (keeping the previous CA in the bundle) when it is due."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        issued = x509.make_ca(props["common_name"], _days(props["validity_days"]))
        return CreateResult(id_=issued.serial, outs=self._outs(props, issued, previous=""))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = [k for k in ("common_name", "validity_days") if olds.get(k) != news.get(k)]
        if x509.renewal_due(olds["not_after"], _days(news["renew_before_days"])):
            changes.append("not_after")
        return DiffResult(changes=bool(changes), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        issued = x509.make_ca(news["common_name"], _days(news["validity_days"]))
        previous = olds["cert_pem"] if x509.still_valid(olds["cert_pem"]) else ""
        return UpdateResult(outs=self._outs(news, issued, previous))

    @staticmethod
    def _outs(props: Mapping[str, Any], issued: x509.Issued, previous: str) -> dict[str, Any]:
        return {
            "common_name": props["common_name"],
            "validity_days": props["validity_days"],
            "renew_before_days": props["renew_before_days"],
            "cert_pem": issued.cert_pem,
            "key_pem": issued.key_pem,
            "not_after": issued.not_after,
            "previous_cert_pem": previous,
            "bundle_pem": issued.cert_pem + previous,
        }


class ServingCertificateProvider(ResourceProvider):
    """Issues a serving certificate; a diff replaces it when it is due or its inputs changed."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        issued = x509.make_serving(
            props["ca_cert_pem"], props["ca_key_pem"], list(props["dns_names"]), _days(props["validity_days"])
        )
        outs = {k: props[k] for k in ("ca_cert_pem", "dns_names", "validity_days", "renew_before_days")}
        outs.update(cert_pem=issued.cert_pem, key_pem=issued.key_pem, not_after=issued.not_after)
        return CreateResult(id_=issued.serial, outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("ca_cert_pem", "dns_names", "validity_days") if olds.get(k) != news.get(k)]
        if x509.renewal_due(olds["not_after"], _days(news["renew_before_days"])):
            replaces.append("not_after")
        return DiffResult(changes=bool(replaces), replaces=replaces, stables=[], delete_before_replace=False)


@dataclass(frozen=True)
class CertificateAuthorityArgs:
    """What a CA is made of."""

    common_name: str
    """Subject common name, shown to whoever inspects a certificate it signed."""
    validity_days: int = 3650
    """How long the CA is valid. Long: renewing it changes every `caBundle` it is in."""
    renew_before_days: int = 365
    """The CA is renewed at the first `pulumi up` within this many days of its end."""

    def __post_init__(self) -> None:
        if not self.common_name.strip():
            raise ValueError("CertificateAuthorityArgs.common_name: must not be empty")
        _check_days("CertificateAuthorityArgs", self.validity_days, self.renew_before_days)


class CertificateAuthority(Resource, module="mlplatform", name="CertificateAuthority"):
    """A self-signed CA (ECDSA P-256) whose key stays in the stack's encrypted state."""

    cert_pem: pulumi.Output[str]
    """The CA certificate (PEM)."""
    key_pem: pulumi.Output[str]
    """The CA's private key (PEM), a Pulumi secret."""
    not_after: pulumi.Output[str]
    """End of the CA's validity (ISO 8601, UTC)."""
    bundle_pem: pulumi.Output[str]
    """What clients trust: the CA certificate, and the previous one for a while after a renewal."""

    def __init__(self, name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "common_name": args.common_name,
            "validity_days": args.validity_days,
            "renew_before_days": args.renew_before_days,
            **dict.fromkeys(("cert_pem", "key_pem", "not_after", "previous_cert_pem", "bundle_pem")),
        }
        super().__init__(CertificateAuthorityProvider(), name, props, _secret_key(opts))
        self.key_pem = pulumi.Output.secret(self.key_pem)


@dataclass(frozen=True)
class ServingCertificateArgs:
    """What a serving certificate is issued for."""

    ca: CertificateAuthority
    """The CA that signs it."""
    dns_names: Sequence[str]
    """Names clients connect to (all go into subjectAltName; the first is also the subject's CN),
    e.g. a Service's `<name>.<namespace>.svc`, or the platform's host."""
    validity_days: int
    """How long each certificate is valid (`mlplatform:certificateValidityDays`)."""
    renew_before_days: int
    """A certificate is replaced at the first `pulumi up` within this many days of its end
    (`mlplatform:certificateRenewBeforeDays`)."""

    def __post_init__(self) -> None:
        if not self.dns_names:
            raise ValueError("ServingCertificateArgs.dns_names: at least one DNS name is needed")
        for dns_name in self.dns_names:
            if not (isinstance(dns_name, str) and len(dns_name) <= 253 and _DNS_NAME.match(dns_name)):
                raise ValueError(f"ServingCertificateArgs.dns_names: {dns_name!r} is not a lower-case DNS name")
        _check_days("ServingCertificateArgs", self.validity_days, self.renew_before_days)


class ServingCertificate(Resource, module="mlplatform", name="ServingCertificate"):
    """A TLS server certificate (ECDSA P-256, serverAuth) for `dns_names`, signed by `ca`."""

    cert_pem: pulumi.Output[str]
    """The certificate (PEM), without the CA."""
    key_pem: pulumi.Output[str]
    """Its private key (PEM), a Pulumi secret."""
    not_after: pulumi.Output[str]
    """End of validity (ISO 8601, UTC): `pulumi up` before `not_after - renew_before_days` renews it."""

    def __init__(self, name: str, args: ServingCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        self.ca = args.ca
        props = {
            "ca_cert_pem": args.ca.cert_pem,
            "ca_key_pem": args.ca.key_pem,
            "dns_names": list(args.dns_names),
            "validity_days": args.validity_days,
            "renew_before_days": args.renew_before_days,
            **dict.fromkeys(("cert_pem", "key_pem", "not_after")),
        }
        super().__init__(ServingCertificateProvider(), name, props, _secret_key(opts))
        self.key_pem = pulumi.Output.secret(self.key_pem)


def tls_secret(name: str, ns: str, labels: Mapping[str, str], cert: ServingCertificate) -> dict:
    """A `kubernetes.io/tls` Secret object with `tls.crt`, `tls.key` and `ca.crt` (the CA bundle), from
    the one Secret template. Mount it where the server reads its certificate (webhook servers'
    `--tls-cert-file`-style flags, controller-runtime's cert dir) or name it in an Ingress's `tls`."""
    values = {"tls.crt": cert.cert_pem, "tls.key": cert.key_pem, "ca.crt": cert.ca.bundle_pem}
    return secret(name, ns, labels, values, type="kubernetes.io/tls")


def ca_bundle(ca: CertificateAuthority) -> pulumi.Output[str]:
    """The CA bundle, base64-encoded PEM: the value of a webhook configuration's `clientConfig.caBundle`
    (or an APIService's `caBundle`)."""
    return ca.bundle_pem.apply(lambda pem: base64.b64encode(pem.encode()).decode())


def _secret_key(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    # The engine keeps `key_pem` encrypted in the state (the dynamic provider does not take secrets).
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["key_pem"]))


def _check_days(owner: str, validity_days: int, renew_before_days: int) -> None:
    if not (isinstance(validity_days, int) and validity_days >= 1):
        raise ValueError(f"{owner}.validity_days: {validity_days!r} is not a whole number of days of 1 or more")
    if not (isinstance(renew_before_days, int) and 1 <= renew_before_days < validity_days):
        raise ValueError(
            f"{owner}.renew_before_days: {renew_before_days!r} must be a whole number of days from 1 "
            f"to validity_days - 1 ({validity_days - 1})"
        )
