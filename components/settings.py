"""Project settings: the `mlplatform:` config keys declared in Pulumi.yaml, validated.

Pulumi.yaml is the single place where a key, its type and its default are written. Under the
Pulumi CLI the engine has already merged those defaults into the stack's config; in tests and
in the render tool we merge them here from the same file, so no default is written twice.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from components.errors import InputError

if TYPE_CHECKING:
    from distributions.config import BackingConfig

PROJECT = "mlplatform"
PROJECT_DIR = Path(__file__).resolve().parent.parent

_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# host[:port] followed by an optional path: what `docker pull` accepts before the image path.
_REGISTRY = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


class Distribution(enum.StrEnum):
    """Which backing services (database, object store, identity) the platform runs on."""

    VANILLA = "vanilla"
    AWS = "aws"
    AZURE = "azure"


class Size(enum.StrEnum):
    """Platform size: picks requests, limits and volume sizes from manifests/sizes.yaml."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


@dataclass(frozen=True)
class Settings:
    """The validated project settings of one stack."""

    distribution: Distribution
    """Backing-service provider for this stack."""
    profiles_dir: Path
    """Absolute folder holding one YAML profile per team."""
    size: Size
    """Sizing tier for every platform workload."""
    image_registry: str
    """Registry that replaces every image's registry host; empty keeps upstream registries."""
    host: str
    """Public DNS name of the platform's web endpoints."""
    tracking: bool
    """Whether every team gets an MLflow tracking server."""
    kubernetes_api_cidrs: tuple[str, ...]
    """Addresses of the Kubernetes API server's endpoints that team pods may reach (none by default)."""
    backing: BackingConfig
    """What the distribution creates and what the user brings (database, object store, cloud)."""


def declared_config(project_file: Path = PROJECT_DIR / "Pulumi.yaml") -> dict[str, dict]:
    """The `config:` block of Pulumi.yaml: key -> {type, default, description, secret}."""
    project = yaml.safe_load(project_file.read_text())
    return dict(project.get("config") or {})


class SecretValue:
    """A config value declared `secret: true`: never printed, and a Pulumi secret wherever it goes."""

    def __init__(self, value: str):
        self._value = value

    def output(self):
        """The value as a Pulumi secret Output (call inside a Pulumi program)."""
        import pulumi

        return pulumi.Output.secret(self._value)

    def __repr__(self) -> str:
        return "SecretValue([secret])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigReader:
    """Typed access to validated config values; every failure names the stack file and the key."""

    def __init__(
        self,
        values: Mapping[str, object],
        source: str,
        raw: Mapping[str, object] | None = None,
        secret_keys: frozenset[str] = frozenset(),
    ):
        self.values = values
        self.source = source
        self.raw = raw or {}
        self.secret_keys = secret_keys

    def fail(self, key: str, value: object, problem: str, allowed: str) -> InputError:
        full = key if ":" in key else f"{PROJECT}:{key}"
        return InputError(self.source, full, value, problem, allowed)

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(key, value, "is not a string", "a string")
        return value

    def provider_text(self, key: str) -> str:
        """A setting of another namespace (e.g. `aws:region`), as given in the stack file."""
        value = self.raw.get(key)
        return value if isinstance(value, str) else ""

    def choice(self, key: str, enum_type: type[enum.Enum]) -> enum.Enum:
        allowed = [m.value for m in enum_type]
        if self.values.get(key) not in allowed:
            raise self.fail(key, self.values.get(key), "is not allowed", ", ".join(allowed))
        return enum_type(self.values[key])

    def flag(self, key: str) -> bool:
        value = self.values.get(key)
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise self.fail(key, value, "is not a boolean", "true, false")

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.values.get(key)
        try:
            number = int(value) if not isinstance(value, bool) else None  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise self.fail(key, value, "is not a whole number in range", f"an integer from {low} to {high}")
        return number

    def array(self, key: str) -> list[str]:
        value = self.values.get(key)
        if isinstance(value, str):  # the engine hands structured config over as JSON
            try:
                value = json.loads(value) if value else []
            except ValueError:
                raise self.fail(key, value, "is not a list", "a YAML list of strings") from None
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, value, "is not a list of strings", "a YAML list of strings")
        return value

    def secret(self, key: str) -> SecretValue | None:
        """A value that must have been set with `pulumi config set --secret` (encrypted in the stack file)."""
        value = self.values.get(key)
        if value in (None, ""):
            return None
        if f"{PROJECT}:{key}" not in self.secret_keys:
            raise self.fail(
                key,
                "[not shown]",
                "is stored in plain text",
                f"an encrypted value: pulumi config set --secret {PROJECT}:{key} ...",
            )
        if not isinstance(value, str):
            raise self.fail(key, "[secret]", "is not a string", "a string set with `pulumi config set --secret`")
        return SecretValue(value)

    def matching(self, key: str, pattern: re.Pattern, allowed: str, value: str | None = None) -> str:
        value = self.text(key) if value is None else value
        if not pattern.fullmatch(value):
            raise self.fail(key, value, "is not valid", allowed)
        return value


def load(
    raw: Mapping[str, object],
    source: str,
    declared: Mapping[str, dict] | None = None,
    project_dir: Path = PROJECT_DIR,
    secret_keys: frozenset[str] = frozenset(),
) -> Settings:
    """Validate the stack's config and return Settings.

    `raw` maps full config keys (``mlplatform:size``, ``kubernetes:context``, ...) to values as the
    engine hands them over (strings). Keys of other namespaces are ignored but for the cloud
    providers' region; an undeclared ``mlplatform:`` key is an error. `source` names the stack file;
    `secret_keys` are the full keys the stack stores encrypted.
    """
    from distributions.config import parse as parse_backing

    declared = declared_config() if declared is None else declared
    values: dict[str, object] = {k: spec.get("default") for k, spec in declared.items()}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue
        if key not in declared:
            raise InputError(
                source,
                full_key,
                value,
                "is not a setting of this project",
                ", ".join(f"{PROJECT}:{k}" for k in sorted(declared)),
            )
        values[key] = value
    read = ConfigReader(values, source, raw, secret_keys)

    distribution = read.choice("distribution", Distribution)
    size = read.choice("size", Size)

    profiles_text = read.text("profilesDir")
    profiles_dir = Path(profiles_text)
    if not profiles_dir.is_absolute():
        profiles_dir = project_dir / profiles_dir
    if not profiles_text or not profiles_dir.is_dir():
        raise read.fail(
            "profilesDir",
            profiles_text,
            "is not a folder",
            "an existing folder of team profiles, relative to the project folder or absolute",
        )

    registry = read.text("imageRegistry").rstrip("/")
    if registry and not _REGISTRY.match(registry):
        raise read.fail(
            "imageRegistry",
            registry,
            "is not a registry reference",
            "empty, or host[:port][/path] such as registry.internal:5000/mirror",
        )

    host = read.text("host")
    if not _DNS_SUBDOMAIN.match(host):
        raise read.fail(
            "host", host, "is not a DNS name", "lower-case letters, digits, '-' and '.', such as ml.example.com"
        )

    api_cidrs = read.array("kubernetesApiCidrs")
    for cidr in api_cidrs:
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            raise read.fail(
                "kubernetesApiCidrs",
                cidr,
                "is not a CIDR",
                "a list of addresses with prefix length and no host bits, such as 172.18.0.2/32 or 10.0.0.0/24",
            ) from None

    return Settings(
        distribution=distribution,  # type: ignore[arg-type]
        profiles_dir=profiles_dir,
        size=size,  # type: ignore[arg-type]
        image_registry=registry,
        host=host,
        tracking=read.flag("tracking"),
        kubernetes_api_cidrs=tuple(api_cidrs),
        backing=parse_backing(distribution, read),  # type: ignore[arg-type]
    )
