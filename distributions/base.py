"""The distribution interface: the component every distribution is, and what it is given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from inputs.backing import BackingConfig
from inputs.teams import TeamSpec
from library.context import PlatformContext
from library.services import Database, ObjectStore, TeamAccess


@dataclass(frozen=True)
class DistributionArgs:
    """What every distribution is given."""

    platform: PlatformContext
    """The platform namespace (where backing-service Secrets live), sizing and images."""
    teams: Sequence[TeamSpec]
    """Every team, for per-team identities."""
    backing: BackingConfig
    """What the stack brings (an existing database or bucket) and the cloud settings."""
    platform_accounts: Sequence[str] = ()
    """ServiceAccounts of the platform namespace that read and write the whole bucket."""
    team_accounts: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    """Per team, the (namespace, ServiceAccount) pairs that act for it on its prefix."""


class BackingServices(pulumi.ComponentResource):
    """Base of every distribution component: the outputs components rely on."""

    database: Database
    """The MySQL-compatible server."""
    object_store: ObjectStore
    """The artifact store."""
    team_access: dict[str, TeamAccess]
    """Each team's object-store access, by team name."""
    ready: list[pulumi.Resource]
    """Resources components should wait for before starting (the services and their Secrets)."""
    platform_account_annotations: Mapping[str, pulumi.Input[str]] = {}
    """Annotations for the platform accounts that reach the object store by workload identity."""
