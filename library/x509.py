"""X.509 certificates the platform makes itself: a long-lived CA and the serving certificates it signs.

Pure functions of their arguments and the clock (no Pulumi, no network); library/certificates.py
keeps their results as Pulumi resources. The choices, made so that every consumer accepts them:

* Keys: ECDSA on P-256 (secp256r1) with SHA-256 signatures, for the CA and for every serving
  certificate. The Kubernetes API server (Go crypto/tls) calling a webhook, the webhook servers
  themselves (Go), Envoy (BoringSSL), ingress controllers and every current browser accept it; it is
  what cert-manager's ECDSA issuers and Go's own `generate_cert` default to, and a key is made in
  about a millisecond. Private keys are PKCS#8 PEM, unencrypted (what `kubernetes.io/tls` Secrets hold).
* CA: self-signed, `basicConstraints CA:true, pathlen:0` (critical: it signs leaf certificates only),
  `keyUsage keyCertSign, cRLSign, digitalSignature` (critical), a subject key identifier.
* Serving certificates: subject CN = the first DNS name, every name in `subjectAltName` (browsers and
  Go ignore the CN), `extendedKeyUsage serverAuth`, `keyUsage digitalSignature` (critical; ECDSA
  keys sign the handshake, there is no key encipherment), `basicConstraints CA:false`, subject and
  authority key identifiers (Python 3.13's strict verification, OpenSSL chain building). Never valid
  past the CA that signs it.
* Validity starts one hour back, so a node whose clock is slightly behind still accepts a new
  certificate. Apple's platforms refuse server certificates valid for more than 825 days, hence the
  upper bound of `mlplatform:certificateValidityDays` (inputs/settings.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLOCK_SKEW = dt.timedelta(hours=1)
"""How far back a new certificate's validity starts."""


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, both PEM."""

    cert_pem: str
    """The certificate (PEM)."""
    key_pem: str
    """Its private key (PKCS#8 PEM, unencrypted): keep it secret."""
    not_after: str
    """End of validity, ISO 8601 in UTC."""
    serial: str
    """Serial number, hexadecimal."""


def now() -> dt.datetime:
    """The current time in UTC (tests move the clock by patching this)."""
    return dt.datetime.now(dt.UTC)


def _key_usage(**granted: bool) -> x509.KeyUsage:
    names = (
        "digital_signature content_commitment key_encipherment data_encipherment key_agreement "
        "key_cert_sign crl_sign encipher_only decipher_only"
    ).split()
    return x509.KeyUsage(**{n: granted.get(n, False) for n in names})


def _issued(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    return Issued(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        not_after=cert.not_valid_after_utc.isoformat(),
        serial=format(cert.serial_number, "x"),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str, validity_days: int) -> Issued:
    """A new self-signed CA with a new key, valid for `validity_days` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = now() - CLOCK_SKEW
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CLOCK_SKEW + dt.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _issued(cert, key)


def make_serving(ca_cert_pem: str, ca_key_pem: str, dns_names: list[str], validity_days: int) -> Issued:
    """A new serving certificate for `dns_names` with a new key, signed by the CA, valid for
    `validity_days` from now but never past the CA's own end."""
    if not dns_names:
        raise ValueError("a serving certificate needs at least one DNS name")
    ca = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca_key_pem.encode(), password=None)
    if ca_key.public_key().public_numbers() != ca.public_key().public_numbers():  # type: ignore[union-attr]
        raise ValueError("the CA key does not belong to the CA certificate")
    key = ec.generate_private_key(ec.SECP256R1())
    start = now() - CLOCK_SKEW
    end = min(start + CLOCK_SKEW + dt.timedelta(days=validity_days), ca.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return _issued(cert, key)


def renewal_due(not_after: str, renew_before_days: int) -> bool:
    """True once fewer than `renew_before_days` days are left before `not_after` (ISO 8601)."""
    return now() >= dt.datetime.fromisoformat(not_after) - dt.timedelta(days=renew_before_days)


def still_valid(cert_pem: str) -> bool:
    """True while `cert_pem` has not expired."""
    return now() < x509.load_pem_x509_certificate(cert_pem.encode()).not_valid_after_utc
