"""Project settings: the `mlplatform:` config keys declared in Pulumi.yaml, validated.

Pulumi.yaml is the single place where a key, its type and its default are written. Under the
Pulumi CLI the engine has already merged those defaults into the stack's config; in tests and
in the render tool we merge them here from the same file, so no default is written twice.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from inputs.backing import BackingConfig, Distribution
from inputs.backing import parse as parse_backing
from inputs.entry import Entry
from inputs.entry import parse as parse_entry
from inputs.errors import InputError
from inputs.notebooks import Culling
from inputs.notebooks import parse as parse_culling
from inputs.reader import DNS_SUBDOMAIN, PROJECT, ConfigReader
from inputs.signin import SignInConfig
from inputs.signin import parse as parse_signin
from inputs.stacks import StackLayout
from inputs.stacks import parse as parse_layout

PROJECT_DIR = Path(__file__).resolve().parent.parent

# host[:port] followed by an optional path: what `docker pull` accepts before the image path.
_REGISTRY = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")

MAX_CERTIFICATE_DAYS = 825
"""Longest validity of a server certificate Apple's platforms accept (also for private CAs)."""


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
    entry: Entry
    """How traffic reaches the platform's gateway (Ingress or LoadBalancer) and its TLS certificate."""
    tracking: bool
    """Whether every team gets an MLflow tracking server."""
    training: bool
    """Whether Kubeflow Trainer (TrainJobs in team namespaces) is installed."""
    notebooks: bool
    """Whether Kubeflow Notebooks are installed (controller, web apps, PodDefaults)."""
    notebook_culling: Culling
    """Whether and when idle notebooks are stopped."""
    tuning: bool
    """Whether Katib (hyperparameter tuning) is installed."""
    serving: bool
    """Whether KServe (model serving) is installed."""
    kubernetes_api_cidrs: tuple[str, ...]
    """Addresses of the Kubernetes API server's endpoints that team pods may reach (none by default)."""
    certificate_validity_days: int
    """How long each certificate the platform issues itself (webhooks, entry point) is valid."""
    certificate_renew_before_days: int
    """A certificate is renewed at the first `pulumi up` within this many days of its end."""
    backing: BackingConfig
    """What the distribution creates and what the user brings (database, object store, cloud)."""
    layout: StackLayout
    """Which part of the platform this stack holds (all of it, the platform's, or one team's)."""
    signin: SignInConfig
    """Who signs in, and through which identity provider (the bundled Dex or an external issuer)."""


def declared_config(project_file: Path = PROJECT_DIR / "Pulumi.yaml") -> dict[str, dict]:
    """The `config:` block of Pulumi.yaml: key -> {type, default, description, secret}."""
    project = yaml.safe_load(project_file.read_text())
    return dict(project.get("config") or {})


def load(
    raw: Mapping[str, object],
    source: str,
    declared: Mapping[str, dict] | None = None,
    project_dir: Path = PROJECT_DIR,
    secret_keys: frozenset[str] = frozenset(),
    stack: str | None = None,
    stack_file: Path | None = None,
) -> Settings:
    """Validate the stack's config and return Settings.

    `raw` maps full config keys (``mlplatform:size``, ``kubernetes:context``, ...) to values as the
    engine hands them over (strings). Keys of other namespaces are ignored but for the cloud
    providers' region; an undeclared ``mlplatform:`` key is an error. `source` names the stack file;
    `secret_keys` are the full keys the stack stores encrypted; `stack_file`, when given, is the stack's
    file, read only to check that each password hash in it is encrypted.
    """
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
    if not DNS_SUBDOMAIN.fullmatch(host):
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

    validity = read.integer("certificateValidityDays", 2, MAX_CERTIFICATE_DAYS)
    renew_before = read.integer("certificateRenewBeforeDays", 1, MAX_CERTIFICATE_DAYS)
    if renew_before >= validity:
        raise read.fail(
            "certificateRenewBeforeDays",
            renew_before,
            f"is not smaller than mlplatform:certificateValidityDays ({validity})",
            f"a whole number of days from 1 to {validity - 1}",
        )

    return Settings(
        distribution=distribution,  # type: ignore[arg-type]
        profiles_dir=profiles_dir,
        size=size,  # type: ignore[arg-type]
        image_registry=registry,
        host=host,
        entry=parse_entry(read),
        tracking=read.flag("tracking"),
        training=read.flag("training"),
        notebooks=read.flag("notebooks"),
        notebook_culling=parse_culling(read),
        tuning=read.flag("tuning"),
        serving=read.flag("serving"),
        kubernetes_api_cidrs=tuple(api_cidrs),
        certificate_validity_days=validity,
        certificate_renew_before_days=renew_before,
        backing=parse_backing(distribution, read),  # type: ignore[arg-type]
        layout=parse_layout(read, stack or source.removeprefix("Pulumi.").removesuffix(".yaml")),
        signin=parse_signin(read, stack_file),
    )
