"""FrontDoor: the platform's one entry point on `mlplatform:host`, and the gateway behind it.

Every component declares the paths it serves (`Needs.routes`, `Needs.team_routes`); the front
door routes them all through one Envoy (library/gateway.py), which is the platform's security
boundary: Kubeflow's web apps trust a plain `kubeflow-userid` header, so the gateway strips any
client-sent identity, asks the sign-in service about every request, and admits only a team's
members to the team's own apps. Outside traffic reaches it through one Ingress or one
LoadBalancer Service (`mlplatform:entry`); nothing else of the platform is exposed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import pulumi

from components.signin import SignIn
from inputs.entry import Entry, EntryMode
from inputs.profile import TeamSpec
from inputs.settings import Settings
from library import gateway, k8s
from library.certificates import (
    CertificateAuthority,
    CertificateAuthorityArgs,
    ServingCertificate,
    ServingCertificateArgs,
    tls_secret,
)
from library.context import Needs, PlatformContext, Shared
from library.manifests import render
from library.routes import GATEWAY_NAMESPACE, Route

NAME = "gateway"
"""The gateway's Deployment, Service, ConfigMap, Ingress and ServiceAccount."""
GENERATED_TLS_SECRET = "gateway-tls"
"""The Secret holding the generated certificate for `mlplatform:host` (when mlplatform:tlsSecret is empty)."""


def entry_ports(entry: Entry) -> list[dict]:
    """The gateway's ports: (name, Service port, container port) per listener."""
    http = {"name": "http", "port": 80, "target": gateway.HTTP_PORT}
    if entry.mode is EntryMode.LOAD_BALANCER:
        return [http, {"name": "https", "port": 443, "target": gateway.HTTPS_PORT}]
    return [http]


def egress(routes: Sequence[Route], auth: gateway.AuthCheck) -> dict:
    """Where the gateway may open connections: the namespaces of its routes' Services and of the sign-in
    service (whose apps admit it on their own ports), and the apps routed by name (their team's namespace,
    their pods' label and port), whose names come from users' paths."""
    services = {r.namespace for r in routes if r.by_name is None} | {auth.host.split(".")[1]}
    apps = {(r.namespace, r.by_name.pod_label, r.by_name.pod_port) for r in routes if r.by_name is not None}
    return {
        "namespaces": sorted(services),
        "apps": [{"namespace": ns, "label": label, "port": port} for ns, label, port in sorted(apps)],
    }


@dataclass(frozen=True)
class FrontDoorArgs:
    """Inputs of the front door."""

    platform: PlatformContext
    """Platform sizing and images."""
    namespace: pulumi.Resource
    """The gateway's namespace (GATEWAY_NAMESPACE)."""
    host: str
    """`mlplatform:host`: the Ingress rule and the generated certificate's name."""
    entry: Entry
    """Ingress or LoadBalancer, the Ingress class and annotations, the TLS Secret."""
    routes: Sequence[Route]
    """Every route the components declare, team routes included."""
    teams: Sequence[TeamSpec]
    """The teams, whose owners and members the team routes admit."""
    auth: gateway.AuthCheck
    """The sign-in service's check of every request."""
    certificate_days: tuple[int, int]
    """Validity and renewal window (days) of the generated certificate (`mlplatform:certificateValidityDays`,
    `mlplatform:certificateRenewBeforeDays`)."""


class FrontDoor(pulumi.ComponentResource):
    """The entry (Ingress or LoadBalancer) and the Envoy gateway routing every declared path."""

    url: pulumi.Output[str]
    """The platform's address."""
    ca_pem: pulumi.Output[str] | None = None
    """The CA of the generated certificate, for browsers to import (None with mlplatform:tlsSecret)."""

    slug: ClassVar[str] = "frontdoor"
    namespaces: ClassVar[tuple[str, ...]] = (GATEWAY_NAMESPACE,)
    per_team: ClassVar[bool] = False

    @classmethod
    def needs(cls, settings: Settings) -> Needs:
        """Nothing from the teams: it only reads what the other components declare."""
        return Needs()

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> FrontDoor:
        # Every team's routes, from every profile: with team stacks the platform's stack registers no team,
        # yet its gateway routes to all of them (one ConfigMap, whatever the number of teams).
        teams = list(shared.profiles)
        declared = [
            *(route for needs in shared.needs for route in needs.routes),
            *(route for needs in shared.needs for team in teams for route in needs.team_routes(team)),
        ]
        # A route without a namespace is served from the platform namespace.
        routes = [replace(r, namespace=r.namespace or shared.platform.namespace) for r in declared]
        check = shared.component(SignIn).ext_authz
        return cls(
            name,
            FrontDoorArgs(
                platform=shared.platform,
                namespace=shared.namespaces[GATEWAY_NAMESPACE],
                host=shared.settings.host,
                entry=shared.settings.entry,
                routes=routes,
                teams=teams,
                # (its `path` is not used: see gateway.AuthCheck)
                auth=gateway.AuthCheck(host=check.host, port=check.port, headers=check.headers),
                certificate_days=(
                    shared.settings.certificate_validity_days,
                    shared.settings.certificate_renew_before_days,
                ),
            ),
            opts,
        )

    def __init__(self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:FrontDoor", name, None, opts)
        platform, entry = args.platform, args.entry
        ns = GATEWAY_NAMESPACE
        selector, labels = k8s.workload_labels(NAME, "frontdoor")
        terminate_tls = entry.mode is EntryMode.LOAD_BALANCER
        config = gateway.bootstrap(args.routes, args.teams, args.auth, terminate_tls)
        size = platform.sizing.of(NAME)
        ports = entry_ports(entry)
        common = {"name": NAME, "ns": ns, "labels": labels, "selector": selector, "ports": ports}

        certificate: list[dict] = []
        tls_secret = entry.tls_secret or GENERATED_TLS_SECRET
        if not entry.tls_secret:
            certificate = self._generated_certificate(name, args, labels)
        objects = [
            *render("frontdoor/ServiceAccount.yaml.j2", **common),
            *render("frontdoor/ConfigMap.yaml.j2", config=config, **common),
            *certificate,
            *render(
                "frontdoor/Deployment.yaml.j2",
                image=platform.images["envoy"],
                replicas=size.replicas,
                resources=size.resources,
                scratch=size.scratch,
                config_digest=hashlib.sha256(config.encode()).hexdigest(),
                tls_secret=tls_secret if terminate_tls else None,
                tls_dir=gateway.TLS_DIR,
                **common,
            ),
            *render(
                "frontdoor/Service.yaml.j2",
                service_type="LoadBalancer" if terminate_tls else "ClusterIP",
                **common,
            ),
            *render("frontdoor/NetworkPolicy.yaml.j2", egress=egress(args.routes, args.auth), **common),
        ]
        if size.replicas > 1:
            objects += render("frontdoor/PodDisruptionBudget.yaml.j2", **common)
        if entry.mode is EntryMode.INGRESS:
            objects += render(
                "frontdoor/Ingress.yaml.j2",
                host=args.host,
                ingress_class=entry.ingress_class,
                annotations=dict(entry.ingress_annotations),
                tls_secret=tls_secret,
                **common,
            )
        k8s.apply(objects, name, self, depends_on=[args.namespace])

        self.url = pulumi.Output.from_input(f"https://{args.host}/")
        self.register_outputs({"url": self.url})

    def _generated_certificate(self, name: str, args: FrontDoorArgs, labels: dict[str, str]) -> list[dict]:
        """The Secret of a certificate for the host, signed by a CA of the entry's own (library/certificates.py):
        browsers trust it once that CA is imported (README); a named mlplatform:tlsSecret replaces both."""
        here = pulumi.ResourceOptions(parent=self)
        validity, renew_before = args.certificate_days
        ca = CertificateAuthority(
            f"{name}-ca", CertificateAuthorityArgs(common_name=f"mlplatform entry {args.host}"), here
        )
        served = ServingCertificate(
            f"{name}-certificate",
            ServingCertificateArgs(
                ca=ca, dns_names=[args.host], validity_days=validity, renew_before_days=renew_before
            ),
            here,
        )
        self.ca_pem = ca.cert_pem
        return [tls_secret(GENERATED_TLS_SECRET, GATEWAY_NAMESPACE, labels, served)]
