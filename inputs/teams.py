"""Team profiles: `profiles/<team>.yaml` files parsed into validated, typed TeamSpecs.

Everything here is pure: it reads files and returns data or raises InputErrors. The program
calls it before registering any resource, so a bad profile touches nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from inputs import quantities
from inputs.errors import InputError, InputErrors
from inputs.profile import ROLES, ContainerDefaults, DeletionPolicy, Member, PodSecurity, Quota, Resources, TeamSpec
from inputs.reader import Reader

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+$"
)
MAX_NAME = 50
"""Longest team name: leaves room for per-team object names such as `mlflow-<team>` (63 at most)."""
# Namespaces that Kubernetes itself owns; the platform adds its own (see load_profiles).
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


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


class ProfileReader(Reader):
    """Walks one profile document, handed each value with its dotted key (`quota.cpu`)."""

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

    def email(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not EMAIL.match(value):
            raise self.fail(key, value, "is not an e-mail address", "an address such as alice@example.com")
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
    r = ProfileReader(source)
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
        role = r.choice(f"{key}.role", ROLES, entry.get("role"))
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

    pod_security = r.choice("podSecurity", PodSecurity, doc.get("podSecurity", PodSecurity.RESTRICTED.value))
    deletion = r.choice("deletionPolicy", DeletionPolicy, doc.get("deletionPolicy", DeletionPolicy.RETAIN.value))
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
        pod_security=pod_security,
        deletion_policy=deletion,
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
