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
    platform_part: bool = True
    """Create the platform's services; False in a team's stack, which creates only `teams`' identities
    and describes the platform stack's services (by their fixed names, or from `platform_outputs`)."""
    platform_outputs: pulumi.StackReference | None = None
    """In a team's stack: the platform stack, for values only the cloud knows (a database's address)."""


class BackingServices(pulumi.ComponentResource):
    """Base of every distribution component: the outputs components rely on."""

    def __init__(self, kind: str, name: str, opts: pulumi.ResourceOptions | None = None):
        """Register distribution `kind` (Vanilla, Aws, Azure) as `mlplatform:index:<kind>`.

        Stacks created before were registered as `mlplatform:distributions:<kind>`: the alias lets
        them upgrade with no replace (children inherit their parent's aliases).
        """
        alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=f"mlplatform:distributions:{kind}")])
        super().__init__(f"mlplatform:index:{kind}", name, None, pulumi.ResourceOptions.merge(opts, alias))

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
    exports: Mapping[str, pulumi.Input[str]] = {}
    """Values the teams' stacks read from the platform stack (exported as stack outputs by its name)."""


def kept(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """For what a retained resource needs to keep working (its network, parameters, protections):
    retained with it, so a destroy, or a switch to a service the stack brings, forgets it in Pulumi
    instead of deleting it from under the kept bucket or database."""
    return pulumi.ResourceOptions(parent=parent, retain_on_delete=True)


def stateful(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """For a resource that holds data: `pulumi destroy` refuses to delete it, and Pulumi never does."""
    return pulumi.ResourceOptions(parent=parent, protect=True, retain_on_delete=True)
