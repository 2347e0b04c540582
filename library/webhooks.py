"""Admission webhooks the platform's components serve: their certificates, and when their
configurations are registered.

Every such webhook fails closed (failurePolicy `Fail`, as upstream), so a configuration must not
exist while its server cannot answer: it is registered after the server's Deployment, Service,
NetworkPolicy (the API server's way in) and certificate Secret, and so removed before them
(Pulumi deletes in reverse dependency order). Without that, turning a component on refuses the
objects or pods it watches until its pod is ready, and turning it off refuses them for good.

    served = webhook_certificates(name, "mlplatform katib", ns, [(service, secret, labels)], days, self)
    created = k8s.apply([*served.secrets, deployment, service, policy, ...], name, self)
    k8s.apply([configuration with served.ca_bundle], name, self, depends_on=servers(created, ns))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from library.certificates import (
    CertificateAuthority,
    CertificateAuthorityArgs,
    ServingCertificate,
    ServingCertificateArgs,
    ca_bundle,
    tls_secret,
)

SERVER_KINDS = ("Deployment", "Service", "NetworkPolicy", "Secret")
"""What of a component's own a webhook's server is made of (and its configuration waits for)."""


@dataclass(frozen=True)
class Served:
    """A component's webhook certificates: one `kubernetes.io/tls` Secret per server, one CA bundle."""

    secrets: list[dict]
    """The Secrets, as objects for `k8s.apply` (each mounted by its server)."""
    ca_bundle: pulumi.Output[str]
    """The `caBundle` of every webhook configuration (and conversion) of the component."""


def webhook_certificates(
    name: str,
    common_name: str,
    ns: str,
    servers: Sequence[tuple[str, str, Mapping[str, str]]],
    days: tuple[int, int],
    parent: pulumi.Resource,
) -> Served:
    """One CA for a component's webhooks and, per (Service, Secret, labels) in `servers`, a serving
    certificate for the Service's in-cluster names (`<svc>.<ns>.svc[.cluster.local]`, what the API
    server calls) kept in that Secret. `days` = (validity, renew before)."""
    validity, renew_before = days
    here = pulumi.ResourceOptions(parent=parent)
    ca = CertificateAuthority(f"{name}-webhook-ca", CertificateAuthorityArgs(common_name=common_name), here)
    secrets = [
        tls_secret(
            secret,
            ns,
            labels,
            ServingCertificate(
                f"{name}-{service}-certificate",
                ServingCertificateArgs(
                    ca=ca,
                    dns_names=[f"{service}.{ns}.svc", f"{service}.{ns}.svc.cluster.local"],
                    validity_days=validity,
                    renew_before_days=renew_before,
                ),
                here,
            ),
        )
        for service, secret, labels in servers
    ]
    return Served(secrets=secrets, ca_bundle=ca_bundle(ca))


def servers(created: Mapping[tuple[str, str, str], pulumi.Resource], ns: str) -> list[pulumi.Resource]:
    """What a component's webhook configurations wait for: every Deployment, Service, NetworkPolicy and
    Secret it placed in `ns` (from `k8s.apply`'s result)."""
    return [r for (kind, namespace, _), r in created.items() if namespace == ns and kind in SERVER_KINDS]
