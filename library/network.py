"""Network boundaries: which pods may open connections to which, as plain data for the templates.

The platform namespace denies all ingress by default; each service admits its named clients
(manifests/<component>/NetworkPolicy.yaml.j2). A team namespace admits only itself (and the
named platform clients of its own services) and reaches out only to DNS, its own namespace,
the platform `Endpoint`s and, when its profile allows it, public addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

PRIVATE_IPV4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8")
"""Never reachable as "internet": RFC 1918, shared (CGNAT, used for pod ranges by some clusters),
link-local (cloud instance metadata 169.254.169.254) and loopback."""
PRIVATE_IPV6 = ("fc00::/7", "fe80::/10", "::1/128")
"""Unique-local (AWS instance metadata fd00:ec2::254), link-local, loopback. (Not the IPv4-mapped
::ffff:0:0/96: the API server refuses it as an exception of ::/0, and no packet carries it.)"""
API_PORTS = (443, 6443)
"""Ports a Kubernetes API server listens on: 443 on managed clusters, 6443 with kubeadm and kind."""


@dataclass(frozen=True)
class Endpoint:
    """Pods of the platform that team pods may connect to, and on which ports."""

    name: str
    """Short name, used in the names of the per-team policies (`team-<team>-<name>`)."""
    selector: Mapping[str, str]
    """Labels selecting the pods (the workload's selector)."""
    ports: tuple[int, ...]
    """TCP ports the team may open on those pods."""
    namespace: str | None = None
    """Where the pods run: None for the platform namespace, where each team's Profile adds the
    policy admitting the team; another namespace admits its teams itself (e.g. the MLflow servers')."""


@dataclass(frozen=True)
class TeamNetwork:
    """What a team's pods may reach outside their own namespace."""

    platform_namespace: str
    """The platform namespace (selected by its `kubernetes.io/metadata.name`)."""
    endpoints: tuple[Endpoint, ...]
    """Platform services team workloads use (pipelines gateway, ML Metadata, an in-cluster object store)."""
    api_cidrs: pulumi.Input[Sequence[str]] = ()
    """Addresses of the Kubernetes API server's endpoints (ports 443 and 6443), never empty."""
    public_ports: tuple[int, ...] = ()
    """TCP ports open on public addresses even without internet egress: the object store's, when it
    is outside the cluster (Amazon S3 has no fixed addresses a policy could name)."""


def store_port(endpoint: str, secure: bool) -> int:
    """The TCP port of an object-store endpoint `host[:port]`."""
    host, _, port = endpoint.rpartition(":")
    return int(port) if host and port.isdigit() else (443 if secure else 80)


def endpoint_cidrs(endpoints: Sequence[Mapping] | None) -> list[str]:
    """Host CIDRs of every address an EndpointSlice lists (`endpoints[].addresses[]`), sorted."""
    addresses = {ipaddress.ip_address(a) for e in endpoints or () for a in e.get("addresses") or ()}
    return [f"{a}/{a.max_prefixlen}" for a in sorted(addresses, key=lambda a: (a.version, a))]


def ip_blocks(cidrs: Sequence[str]) -> list[dict]:
    """NetworkPolicy peers for `cidrs` (e.g. the API server's addresses); refuses none at all, since an
    empty peer list would admit everyone."""
    if not cidrs:
        raise ValueError(
            "the Kubernetes API server's addresses are unknown (its EndpointSlice default/kubernetes lists"
            " none): set mlplatform:kubernetesApiCidrs"
        )
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]
