"""A team profile's typed form: what `profiles/<team>.yaml` declares, with its defaults.

inputs/teams.py reads and validates the files into these; the rest of the program reads these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, get_args

Role = Literal["admin", "edit", "view"]
ROLES: tuple[str, ...] = get_args(Role)


class DeletionPolicy(enum.StrEnum):
    """What happens to a team's namespace (and so its volumes) when its profile file is removed."""

    RETAIN = "retain"
    """Keep the namespace and everything in it; Pulumi only forgets it (the default)."""
    DELETE = "delete"
    """Delete the namespace with all its volumes. Must be set and applied before removing the file."""


class PodSecurity(enum.StrEnum):
    """Pod Security Standard enforced on the team namespace."""

    BASELINE = "baseline"
    RESTRICTED = "restricted"


@dataclass(frozen=True)
class Member:
    """A person with access to the team namespace."""

    email: str
    """The identity the sign-in provider reports (a Kubernetes RBAC User name)."""
    role: Role
    """admin: manage the namespace and its members' bindings; edit: run workloads; view: read only."""


@dataclass(frozen=True)
class Quota:
    """Hard limits summed over every pod and volume claim in the namespace."""

    cpu: str = "8"
    """Total CPU requests (requests.cpu)."""
    memory: str = "32Gi"
    """Total memory requests (requests.memory)."""
    gpu: int = 0
    """Total NVIDIA GPUs requested (requests.nvidia.com/gpu)."""
    storage: str = "100Gi"
    """Total storage requested by volume claims (requests.storage)."""
    pods: int = 100
    """Number of pods that may exist at once."""
    ephemeral_storage: str = "50Gi"
    """Total node-local scratch space requested (requests.ephemeral-storage): emptyDirs, logs, writable layers."""
    ephemeral_storage_limits: str = "200Gi"
    """Total node-local scratch space containers may fill before eviction (limits.ephemeral-storage)."""
    load_balancers: int = 0
    """Services of type LoadBalancer (services.loadbalancers); above 0 also admits that type."""
    node_ports: int = 0
    """Node ports of Services (services.nodeports, LoadBalancers use them too); above 0 admits type NodePort."""


@dataclass(frozen=True)
class Resources:
    """Amounts of cpu, memory and node-local scratch space (ephemeral-storage)."""

    cpu: str
    memory: str
    ephemeral_storage: str


@dataclass(frozen=True)
class ContainerDefaults:
    """Requests and limits a container gets when it declares none (a LimitRange)."""

    requests: Resources = Resources(cpu="100m", memory="256Mi", ephemeral_storage="256Mi")
    limits: Resources = Resources(cpu="1", memory="2Gi", ephemeral_storage="2Gi")


@dataclass(frozen=True)
class TeamSpec:
    """One team, as declared in its profile file."""

    name: str
    """Team name; also the namespace name (a DNS-1123 label)."""
    owner: str
    """E-mail of the team owner, who is bound to the admin role."""
    source: str
    """The profile file this team came from (for messages)."""
    description: str = ""
    members: tuple[Member, ...] = ()
    quota: Quota = field(default_factory=Quota)
    container_defaults: ContainerDefaults = field(default_factory=ContainerDefaults)
    pod_security: PodSecurity = PodSecurity.RESTRICTED
    deletion_policy: DeletionPolicy = DeletionPolicy.RETAIN
    adopt: bool = False
    """Take over a namespace that already exists without the platform's team label."""
    internet_egress: bool = False
    """Whether the team's pods may open connections to public addresses (never private ones)."""

    @property
    def namespace(self) -> str:
        return self.name
