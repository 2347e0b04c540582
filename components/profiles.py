"""Profile: one team's namespace, with its people, identities, quota, defaults and isolation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from inputs.profile import DeletionPolicy, TeamSpec
from library import k8s
from library.context import Needs, StoreAccount
from library.manifests import render
from library.network import API_PORTS, PRIVATE_IPV4, PRIVATE_IPV6, TeamNetwork, api_blocks
from library.routes import gateway_peer
from library.secrets import secret as k8s_secret
from library.services import ACCESS_KEY, OBJECT_STORE_SECRET, SECRET_KEY, TeamAccess

EDITOR_ACCOUNT = "default-editor"
"""The ServiceAccount team workloads (pipeline runs, notebooks) run as."""
VIEWER_ACCOUNT = "default-viewer"
"""A read-only ServiceAccount for dashboards and reporting jobs."""

_ROLE_OF_ACCOUNT = {EDITOR_ACCOUNT: "edit", VIEWER_ACCOUNT: "view"}
TEAM_LABEL = "mlplatform.io/team"
"""Label of every team namespace; the admission policies select team namespaces by it."""
PROFILE_ANNOTATION = "mlplatform.io/profile"
"""Namespace annotation naming the profile file, for the admission policy's messages."""
ADOPT_ANNOTATION = "mlplatform.io/adopt"
"""Namespace annotation ("true") with which a profile may take over an existing, unlabeled namespace."""
ALLOW_LOAD_BALANCERS = "mlplatform.io/allow-service-type-loadbalancer"
"""Namespace label ("true") under which the admission policy admits Services of type LoadBalancer."""
ALLOW_NODE_PORTS = "mlplatform.io/allow-service-type-nodeport"
"""Namespace label ("true") under which the admission policy admits Services of type NodePort."""
EXPOSURES = (
    {"type": "LoadBalancer", "label": ALLOW_LOAD_BALANCERS, "quota_key": "loadBalancers"},
    {"type": "NodePort", "label": ALLOW_NODE_PORTS, "quota_key": "nodePorts"},
)
"""Service types that reach outside the cluster: the namespace label admitting each, and the quota key setting it."""
_NOT_NAME = re.compile(r"[^a-z0-9-]+")


def exposure_labels(team: TeamSpec) -> dict[str, str]:
    """The Service types beyond ClusterIP a team may create: those its quota gives a non-zero share."""
    allowed = {ALLOW_LOAD_BALANCERS: team.quota.load_balancers, ALLOW_NODE_PORTS: team.quota.node_ports}
    return {label: "true" for label, share in allowed.items() if share > 0}


def member_binding_name(email: str, role: str) -> str:
    """RoleBinding name of a person: readable, unique per e-mail (hash), new name when the role changes."""
    slug = _NOT_NAME.sub("-", email.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:8]
    return f"user-{slug}-{digest}-{role}"


@dataclass(frozen=True)
class ProfileArgs:
    """Inputs of one team's Profile."""

    team: TeamSpec
    """The validated team profile."""
    network: TeamNetwork
    """The platform services the team's pods may reach (the rest of the network is closed to them)."""
    platform_namespace: pulumi.Resource | None
    """The platform Namespace, where the policies admitting the team to those services go."""
    access: TeamAccess
    """The team's object-store access from the distribution (prefix, identity or keys)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra namespace labels the platform's components need (e.g. pipelines.kubeflow.org/enabled)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the namespace itself must wait for: the roles its bindings name and the admission
    policies that must be in force before a namespace is created or adopted."""


def cluster_objects() -> list[dict]:
    """What every team namespace needs before it exists: the roles its bindings name (kubeflow-admin,
    -edit, -view) and the admission policies in force before a namespace is created or adopted."""
    return [
        *render("platform/ClusterRole.yaml.j2"),
        *render(
            "platform/ValidatingAdmissionPolicy.yaml.j2",
            team_label=TEAM_LABEL,
            adopt_annotation=ADOPT_ANNOTATION,
            profile_annotation=PROFILE_ANNOTATION,
            exposures=EXPOSURES,
        ),
        *render("platform/ValidatingAdmissionPolicyBinding.yaml.j2", team_label=TEAM_LABEL),
    ]


def _is_default_deny(obj: dict) -> bool:
    return obj["kind"] == "NetworkPolicy" and obj["metadata"]["name"] == "default-deny"


class Profile(pulumi.ComponentResource):
    """A team namespace and everything that makes it a safe, ready workspace.

    The Namespace is retained when the profile file is removed unless the team's
    deletionPolicy is `delete` (applied before the file is removed); see the README.
    """

    namespace: pulumi.Output[str]
    """Name of the team namespace."""
    namespace_resource: pulumi.CustomResource
    """The Namespace resource, for components that add objects to the namespace."""

    @staticmethod
    def needs() -> Needs:
        """The team's workloads run as its editor account, which acts on the team's prefix."""
        return Needs(team_store_accounts=lambda team: (StoreAccount(EDITOR_ACCOUNT),))

    def __init__(self, name: str, args: ProfileArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Profile", name, None, opts)
        team = args.team
        ns = team.namespace
        retain = team.deletion_policy is DeletionPolicy.RETAIN

        namespace = k8s.apply(
            render(
                "profiles/Namespace.yaml.j2",
                ns=ns,
                owner=team.owner,
                profile=team.source,
                adopt=team.adopt,
                description=team.description,
                pod_security=team.pod_security.value,
                labels={**args.labels, **exposure_labels(team)},
            ),
            name,
            self,
            depends_on=args.depends_on,
            # Retained: removing the profile file only makes Pulumi forget the namespace.
            options=lambda _: pulumi.ResourceOptions(retain_on_delete=retain),
        )
        self.namespace_resource = namespace[("Namespace", "", ns)]

        annotations = dict(args.access.service_account_annotations)
        accounts = render(
            "profiles/ServiceAccount.yaml.j2",
            outputs={"annotations": annotations} if annotations else None,
            ns=ns,
            accounts=[EDITOR_ACCOUNT, VIEWER_ACCOUNT],
        )

        bindings = [
            {"name": "namespaceAdmin", "user": team.owner, "role": "admin", "cluster_role": "kubeflow-admin"},
            *(
                {
                    "name": member_binding_name(m.email, m.role),
                    "user": m.email,
                    "role": m.role,
                    "cluster_role": f"kubeflow-{m.role}",
                }
                for m in team.members
            ),
            *(
                {"name": account, "user": None, "service_account": account, "cluster_role": f"kubeflow-{role}"}
                for account, role in _ROLE_OF_ACCOUNT.items()
            ),
        ]
        network = args.network
        objects = [
            *accounts,
            *render("profiles/RoleBinding.yaml.j2", ns=ns, bindings=bindings),
            *render("profiles/LimitRange.yaml.j2", ns=ns, defaults=team.container_defaults),
            *render(
                "profiles/NetworkPolicy.yaml.j2",
                outputs={"api_blocks": pulumi.Output.from_input(network.api_cidrs).apply(api_blocks)},
                ns=ns,
                platform_namespace=network.platform_namespace,
                endpoints=list(network.endpoints),
                internet=team.internet_egress,
                api_ports=list(API_PORTS),
                public_ports=list(network.public_ports),
                gateway_apps=[
                    {"name": f"gateway-{_NOT_NAME.sub('-', label.lower()).strip('-')}", "label": label, "port": port}
                    for label, port in network.gateway_apps
                ],
                gateway=gateway_peer(),
                private_ipv4=list(PRIVATE_IPV4),
                private_ipv6=list(PRIVATE_IPV6),
            ),
        ]
        if args.access.access_key is not None and args.access.secret_key is not None:
            secret = k8s_secret(
                OBJECT_STORE_SECRET,
                ns,
                {TEAM_LABEL: ns},
                {
                    ACCESS_KEY: pulumi.Output.secret(args.access.access_key),
                    SECRET_KEY: pulumi.Output.secret(args.access.secret_key),
                },
            )
            objects.append(secret)
        created = k8s.apply(
            objects,
            name,
            self,
            depends_on=[self.namespace_resource, args.platform_namespace],
            # Stays when the profile is removed, closing the retained namespace (see the template).
            options=lambda obj: pulumi.ResourceOptions(retain_on_delete=True) if _is_default_deny(obj) else None,
        )
        # The quota requires an ephemeral-storage limit of every pod; only once the LimitRange
        # supplies the default can it be enforced without refusing the team's first pods.
        limits = created[("LimitRange", ns, "container-defaults")]
        k8s.apply(
            render("profiles/ResourceQuota.yaml.j2", ns=ns, quota=team.quota),
            name,
            self,
            depends_on=[self.namespace_resource, limits],
        )

        self.namespace = pulumi.Output.from_input(ns)
        self.register_outputs({"namespace": self.namespace})
