"""Team profiles: `profiles/<team>.yaml` files parsed into validated, typed TeamSpecs.

Everything here is pure: it reads files and returns data or raises InputErrors. The program
calls it before registering any resource, so a bad profile touches nothing.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from inputs import quantities
from inputs.errors import InputError, InputErrors

Role = Literal["admin", "edit", "view"]
ROLES: tuple[str, ...] = get_args(Role)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+$"
)
MAX_NAME = 50
"""Longest team name: leaves room for per-team object names such as `mlflow-<team>` (63 at most)."""
# Namespaces that Kubernetes itself owns; the platform adds its own (see load_profiles).
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


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


_TOP_KEYS = {
    "adopt",
    "name",
    "owner",
    "description",
    "members",
    "quota",
    "containerDefaults",
    "podSecurity",
    "deletionPolicy",
    "internetEgress",
}
_QUOTA_KEYS = {
    "cpu",
    "memory",
    "gpu",
    "storage",
    "pods",
    "ephemeralStorage",
    "ephemeralStorageLimits",
    "loadBalancers",
    "nodePorts",
}
_RESOURCE_KEYS = {"cpu": "cpu", "memory": "memory", "ephemeralStorage": "ephemeral_storage"}


class _Reader:
    """Walks one profile document, raising an InputError that names the file and key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, value: Any, problem: str, allowed: str) -> InputError:
        return InputError(self.source, key, value, problem, allowed)

    def mapping(self, key: str, value: Any, allowed_keys: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(
                key or "(document)", value, "is not a mapping", "a YAML mapping of " + ", ".join(sorted(allowed_keys))
            )
        for k in value:
            if k not in allowed_keys:
                raise self.fail(
                    f"{key}.{k}" if key else str(k), value[k], "is not a known key", ", ".join(sorted(allowed_keys))
                )
        return value

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(key, value, "is not a string", "a string")
        return value

    def email(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not _EMAIL.match(value):
            raise self.fail(key, value, "is not an e-mail address", "an address such as alice@example.com")
        return value

    def choice(self, key: str, value: Any, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(key, value, "is not allowed", ", ".join(allowed))
        return value

    def quantity(self, key: str, value: Any) -> str:
        if not quantities.is_quantity(value):
            raise self.fail(key, value, "is not a quantity", quantities.ALLOWED)
        return quantities.normalise(value)

    def count(self, key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, value, "is not a whole number", "an integer of 0 or more")
        return value

    def flag(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, value, "is not a boolean", "true or false")
        return value

    def resources(self, key: str, value: Any, default: Resources) -> Resources:
        if value is None:
            return default
        self.mapping(key, value, set(_RESOURCE_KEYS))
        return Resources(
            **{
                field_: self.quantity(f"{key}.{yaml_key}", value.get(yaml_key, getattr(default, field_)))
                for yaml_key, field_ in _RESOURCE_KEYS.items()
            }
        )


def parse_profile(document: Any, source: str) -> TeamSpec:
    """Validate one parsed profile document and return its TeamSpec."""
    r = _Reader(source)
    doc = r.mapping("", document, _TOP_KEYS)
    for required in ("name", "owner"):
        if required not in doc:
            raise r.fail(required, None, "is required", "see profiles/README.md for the profile format")

    name = r.text("name", doc["name"])
    if len(name) > MAX_NAME or not _DNS_LABEL.match(name):
        raise r.fail(
            "name",
            name,
            "is not a DNS-1123 label of at most 50 characters",
            f"at most {MAX_NAME} lower-case letters, digits and '-', starting and ending with a letter or digit"
            " (the platform names per-team objects after the team, e.g. mlflow-<team>, within Kubernetes' 63)",
        )
    owner = r.email("owner", doc["owner"])

    members: list[Member] = []
    seen = {owner.lower()}
    raw_members = doc.get("members") or []
    if not isinstance(raw_members, list):
        raise r.fail("members", raw_members, "is not a list", "a list of {email, role} entries")
    for i, entry in enumerate(raw_members):
        key = f"members[{i}]"
        r.mapping(key, entry, {"email", "role"})
        email = r.email(f"{key}.email", entry.get("email"))
        role = r.choice(f"{key}.role", entry.get("role"), ROLES)
        if email.lower() in seen:
            raise r.fail(
                f"{key}.email",
                email,
                "is listed twice (the owner is already an admin)",
                "each person once, the owner not among the members",
            )
        seen.add(email.lower())
        members.append(Member(email=email, role=role))  # type: ignore[arg-type]

    quota = Quota()
    if "quota" in doc:
        q = r.mapping("quota", doc["quota"], _QUOTA_KEYS)
        quota = Quota(
            cpu=r.quantity("quota.cpu", q.get("cpu", quota.cpu)),
            memory=r.quantity("quota.memory", q.get("memory", quota.memory)),
            gpu=r.count("quota.gpu", q.get("gpu", quota.gpu)),
            storage=r.quantity("quota.storage", q.get("storage", quota.storage)),
            pods=r.count("quota.pods", q.get("pods", quota.pods)),
            ephemeral_storage=r.quantity("quota.ephemeralStorage", q.get("ephemeralStorage", quota.ephemeral_storage)),
            ephemeral_storage_limits=r.quantity(
                "quota.ephemeralStorageLimits", q.get("ephemeralStorageLimits", quota.ephemeral_storage_limits)
            ),
            load_balancers=r.count("quota.loadBalancers", q.get("loadBalancers", quota.load_balancers)),
            node_ports=r.count("quota.nodePorts", q.get("nodePorts", quota.node_ports)),
        )

    defaults = ContainerDefaults()
    if "containerDefaults" in doc:
        d = r.mapping("containerDefaults", doc["containerDefaults"], {"requests", "limits"})
        defaults = ContainerDefaults(
            requests=r.resources("containerDefaults.requests", d.get("requests"), defaults.requests),
            limits=r.resources("containerDefaults.limits", d.get("limits"), defaults.limits),
        )
        for res, field_ in _RESOURCE_KEYS.items():
            request = getattr(defaults.requests, field_)
            limit = getattr(defaults.limits, field_)
            if quantities.parse(request) > quantities.parse(limit):
                raise r.fail(
                    f"containerDefaults.requests.{res}",
                    request,
                    f"is above the limit {limit}",
                    f"a request no larger than containerDefaults.limits.{res}",
                )

    pod_security = r.choice(
        "podSecurity", doc.get("podSecurity", PodSecurity.RESTRICTED.value), tuple(p.value for p in PodSecurity)
    )
    deletion = r.choice(
        "deletionPolicy", doc.get("deletionPolicy", DeletionPolicy.RETAIN.value), tuple(p.value for p in DeletionPolicy)
    )
    description = r.text("description", doc.get("description", ""))
    adopt = r.flag("adopt", doc.get("adopt", False))
    internet_egress = r.flag("internetEgress", doc.get("internetEgress", False))

    return TeamSpec(
        name=name,
        owner=owner,
        source=source,
        description=description,
        members=tuple(members),
        quota=quota,
        container_defaults=defaults,
        pod_security=PodSecurity(pod_security),
        deletion_policy=DeletionPolicy(deletion),
        adopt=adopt,
        internet_egress=internet_egress,
    )


def load_profiles(
    folder: Path, reserved: frozenset[str] = frozenset(), relative_to: Path | None = None
) -> list[TeamSpec]:
    """Read every `*.yaml`/`*.yml` file of `folder` (sorted by file name) into TeamSpecs.

    `reserved` holds the namespaces the platform itself uses; a team may not take one. All files
    are checked; every bad file and every clash is reported, one line each, in one InputErrors.
    """
    errors: list[InputError] = []
    teams: list[TeamSpec] = []
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in files:
        source = str(path.relative_to(relative_to)) if relative_to and path.is_relative_to(relative_to) else str(path)
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
            errors.append(
                InputError(
                    source, where, getattr(exc, "problem", str(exc)), "is malformed YAML", "a valid YAML mapping"
                )
            )
            continue
        try:
            teams.append(parse_profile(document, source))
        except InputError as exc:
            errors.append(exc)

    by_name: dict[str, TeamSpec] = {}
    blocked = SYSTEM_NAMESPACES | reserved
    for team in teams:
        if team.name in blocked or team.name.startswith("kube-"):
            errors.append(
                InputError(
                    team.source,
                    "name",
                    team.name,
                    "is a system or platform namespace",
                    "any DNS-1123 label except " + ", ".join(sorted(blocked)) + " and kube-*",
                )
            )
        elif team.name in by_name:
            errors.append(
                InputError(
                    team.source,
                    "name",
                    team.name,
                    f"is already the name of the team in {by_name[team.name].source}",
                    "a team name used by one profile file only",
                )
            )
        else:
            by_name[team.name] = team
    if errors:
        raise InputErrors(errors)
    return teams
