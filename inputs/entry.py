"""The platform's one entry point: how traffic from outside the cluster reaches the gateway.

`mlplatform:entry` picks an Ingress (the cluster's controller terminates TLS: ingress-nginx, the
AWS Load Balancer Controller, Azure application routing, ...) or a Service of type LoadBalancer
(Envoy terminates TLS itself). TLS comes from a Secret the user names in the gateway's namespace,
or from a certificate the platform generates for `mlplatform:host`.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from inputs.reader import DNS_SUBDOMAIN, ConfigReader

# An annotation key: an optional DNS-subdomain prefix and '/', then a name of 63 characters at most
# (Kubernetes apimachinery IsQualifiedName).
_ANNOTATION_KEY = re.compile(
    r"((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)


class EntryMode(enum.StrEnum):
    """How the gateway is exposed."""

    INGRESS = "ingress"
    """An Ingress of the cluster's controller in front of the gateway's ClusterIP Service."""
    LOAD_BALANCER = "loadBalancer"
    """The gateway's Service is of type LoadBalancer; Envoy terminates TLS and redirects HTTP."""


@dataclass(frozen=True)
class Entry:
    """The validated entry settings."""

    mode: EntryMode = EntryMode.INGRESS
    """Ingress or LoadBalancer."""
    ingress_class: str = ""
    """IngressClass of the Ingress (empty: the cluster's default class)."""
    ingress_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations of the Ingress, for its controller (redirects, scheme, certificates, ...)."""
    tls_secret: str = ""
    """A `kubernetes.io/tls` Secret in the gateway namespace to serve; empty: a generated certificate."""


def _annotations(read: ConfigReader, key: str) -> dict[str, str]:
    value = read.lookup(key)
    if isinstance(value, str):  # the engine hands structured config over as JSON
        try:
            value = json.loads(value) if value else {}
        except ValueError:
            raise read.fail(key, value, "is not a map", "a YAML map of annotation names to strings") from None
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise read.fail(key, value, "is not a map of strings", "a YAML map of annotation names to string values")
    for name in value:
        if not isinstance(name, str) or not _ANNOTATION_KEY.fullmatch(name):
            raise read.fail(
                key,
                name,
                "is not an annotation name",
                "[prefix/]name, such as alb.ingress.kubernetes.io/scheme (name: 63 characters at most)",
            )
    return dict(value)


def parse(read: ConfigReader) -> Entry:
    """The entry settings, or an InputError naming the key."""
    mode = read.choice("entry", EntryMode)
    ingress_class = read.text("ingressClassName")
    if ingress_class and not DNS_SUBDOMAIN.fullmatch(ingress_class):
        raise read.fail(
            "ingressClassName",
            ingress_class,
            "is not an IngressClass name",
            "empty (the cluster's default class), or a name such as nginx, alb or webapprouting.kubernetes.azure.com",
        )
    annotations = _annotations(read, "ingressAnnotations")
    if mode is EntryMode.LOAD_BALANCER:
        for key, given in (("ingressClassName", ingress_class), ("ingressAnnotations", annotations)):
            if given:
                raise read.fail(
                    key, given, "is set while mlplatform:entry is loadBalancer", "unset, or mlplatform:entry: ingress"
                )
    tls_secret = read.text("tlsSecret")
    if tls_secret and not DNS_SUBDOMAIN.fullmatch(tls_secret):
        raise read.fail(
            "tlsSecret",
            tls_secret,
            "is not a Secret name",
            "empty (a generated certificate), or the name of a kubernetes.io/tls Secret in kubeflow-gateway",
        )
    return Entry(mode=mode, ingress_class=ingress_class, ingress_annotations=annotations, tls_secret=tls_secret)
