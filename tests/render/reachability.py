"""A small NetworkPolicy evaluator over rendered objects: can pod A open a connection to B on port P?

The world is built from what the program renders: one pod per workload template (Deployment,
StatefulSet, Job; a Job's pod also gets the `batch.kubernetes.io/job-name` label the Job
controller sets), namespaces with their labels plus `kubernetes.io/metadata.name` (set by the
API server), and whatever stand-ins a test adds (a cluster DNS pod, a team's notebook, a
namespace that copies a team's labels, addresses outside the cluster).

Semantics follow networking.k8s.io/v1: a connection needs the source's egress and the
destination's ingress to allow it; a direction is open for a pod until some policy of that type
selects it, then only the union of the selecting policies' rules applies. Pod addresses are
taken from 10.244.0.0/16, so an `ipBlock` that excludes private ranges does not match them
(whether ipBlock matches pod addresses at all is up to the network plugin; this is the stricter
reading for an allow-list).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ports: tuple[tuple[int, str, str], ...]
    """(port, protocol, name) of every container port."""
    ip: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Address:
    """A destination outside the cluster's pods (instance metadata, the API server, the internet)."""

    name: str
    ip: str

    def __str__(self) -> str:
        return f"{self.name} ({self.ip})"


@dataclass
class Cluster:
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: list[dict] = field(default_factory=list)

    def add_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        self.namespaces[name] = {**(labels or {}), "kubernetes.io/metadata.name": name}

    def add_pod(self, namespace: str, name: str, labels: Mapping[str, str], ports: Iterable[tuple] = ()) -> Pod:
        pod = Pod(
            namespace,
            name,
            dict(labels),
            tuple((p[0], p[1] if len(p) > 1 else "TCP", p[2] if len(p) > 2 else "") for p in ports),
            f"10.244.{len(self.pods) // 250}.{len(self.pods) % 250 + 1}",
        )
        self.pods.append(pod)
        return pod

    def add_objects(self, objects: Iterable[dict]) -> None:
        for obj in objects:
            meta = obj["metadata"]
            if obj["kind"] == "Namespace":
                self.add_namespace(meta["name"], meta.get("labels"))
            elif obj["kind"] == "NetworkPolicy":
                self.policies.append(obj)
            elif obj["kind"] in WORKLOADS:
                template = obj["spec"]["template"]
                labels = dict(template["metadata"].get("labels") or {})
                if obj["kind"] == "Job":
                    labels["batch.kubernetes.io/job-name"] = meta["name"]
                ports = [
                    (p["containerPort"], p.get("protocol", "TCP"), p.get("name", ""))
                    for c in template["spec"]["containers"]
                    for p in c.get("ports", [])
                ]
                self.add_pod(meta["namespace"], meta["name"], labels, ports)

    def pod(self, namespace: str, name: str) -> Pod:
        (found,) = [p for p in self.pods if p.namespace == namespace and p.name == name]
        return found

    def in_namespace(self, namespace: str) -> list[Pod]:
        return [p for p in self.pods if p.namespace == namespace]

    # --- evaluation ---------------------------------------------------------------------------

    def allows(self, source: Pod, target: Pod | Address, port: int, protocol: str = "TCP") -> bool:
        """Whether `source` may open a connection to `target` on `port`."""
        egress = self._selecting(source, "Egress")
        if egress and not any(
            self._rule_matches(p, rule, "to", target, port, protocol)
            for p in egress
            for rule in p["spec"].get("egress") or []
        ):
            return False
        if isinstance(target, Address):
            return True
        ingress = self._selecting(target, "Ingress")
        return not ingress or any(
            self._rule_matches(p, rule, "from", source, port, protocol, target)
            for p in ingress
            for rule in p["spec"].get("ingress") or []
        )

    def reachable(self, source: Pod, targets: Iterable[Pod]) -> set[tuple[str, str, int]]:
        """(namespace, workload, port) of every declared port of `targets` that `source` may reach."""
        return {
            (t.namespace, t.name, port)
            for t in targets
            if t is not source
            for port, protocol, _ in t.ports
            if self.allows(source, t, port, protocol)
        }

    def _selecting(self, pod: Pod, direction: str) -> list[dict]:
        return [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and direction in _types(p)
            and _matches(p["spec"].get("podSelector") or {}, pod.labels)
        ]

    def _rule_matches(self, policy, rule, key, peer, port, protocol, target: Pod | None = None) -> bool:
        peers = rule.get(key)
        if peers and not any(self._peer_matches(policy, p, peer) for p in peers):
            return False
        ports = rule.get("ports")
        return not ports or any(_port_matches(p, port, protocol, target) for p in ports)

    def _peer_matches(self, policy: dict, selector: dict, peer: Pod | Address) -> bool:
        if "ipBlock" in selector:
            block = selector["ipBlock"]
            address = ipaddress.ip_address(peer.ip)
            within = lambda cidr: address in ipaddress.ip_network(cidr)  # noqa: E731
            return within(block["cidr"]) and not any(within(c) for c in block.get("except") or [])
        if isinstance(peer, Address):
            return False
        if "namespaceSelector" in selector:
            if not _matches(selector["namespaceSelector"], self.namespaces.get(peer.namespace, {})):
                return False
        elif peer.namespace != policy["metadata"]["namespace"]:
            return False
        return "podSelector" not in selector or _matches(selector["podSelector"], peer.labels)


def _types(policy: dict) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _matches(selector: Mapping, labels: Mapping[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not ok:
            return False
    return True


def _port_matches(rule: dict, port: int, protocol: str, target: Pod | None) -> bool:
    if rule.get("protocol", "TCP") != protocol:
        return False
    wanted = rule.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):  # a named port of the destination pod
        return target is not None and any(n == wanted and p == port for p, _, n in target.ports)
    return wanted <= port <= rule.get("endPort", wanted)
