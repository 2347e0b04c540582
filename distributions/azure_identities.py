"""azure: the teams' workload identities. Each team gets a user-assigned identity federated with
its ServiceAccounts, allowed only below `<team>/` of the teams container: direct Blob access for the
team's own workloads with Azure SDKs, no keys (see distributions/azure.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pulumi
from pulumi_azure_native import authorization, managedidentity

from distributions.azure_policies import BLOB_DATA_ACTIONS, digest, slug, team_condition
from distributions.base import DistributionArgs
from inputs.azure import AzureConfig
from inputs.teams import TeamSpec
from library.services import TeamAccess

CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"


def team_identities(
    name: str,
    parent: pulumi.Resource,
    cfg: AzureConfig,
    args: DistributionArgs,
    container: pulumi.Input[str] | None,
    role: pulumi.Input[str] | None,
    keys: dict[str, TeamAccess],
) -> dict[str, TeamAccess]:
    """Per team, a user-assigned identity federated with the team's ServiceAccounts and allowed only
    its own folder of `container`; the team keeps its S3 keys (`keys`) and gains the identity."""
    access = {}
    stack = args.platform.stack
    for team in args.teams:
        identity = _federated_identity(name, parent, cfg, stack, team, args.team_accounts.get(team.name, ()))
        authorization.RoleAssignment(
            f"{name}-team-{team.name}",
            scope=container,
            role_definition_id=role,
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            # Role assignments are immutable: a stable name keeps `pulumi up` idempotent, and a
            # new one per role (`/blobs`) lets the new assignment exist before the old is deleted.
            role_assignment_name=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"mlplatform/{cfg.resource_group}/{stack}/{team.name}/blobs")
            ),
            condition=team_condition(team.name),
            condition_version="2.0",
            description=f"ML platform team {team.name}: its own folder of the teams container",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        given = keys[team.name]
        access[team.name] = TeamAccess(
            prefix=given.prefix,
            access_key=given.access_key,
            secret_key=given.secret_key,
            service_account_annotations={CLIENT_ID_ANNOTATION: identity.client_id},
        )
    return access


def team_role(name: str, parent: pulumi.Resource, cfg: AzureConfig, stack: str) -> authorization.RoleDefinition:
    """The custom role every team's assignment narrows to its folder: blob data actions only (one per
    platform: in the platform's stack)."""
    rg = cfg.resource_group
    subscription = authorization.get_client_config_output().subscription_id
    group_scope = subscription.apply(lambda s: f"/subscriptions/{s}/resourceGroups/{rg}")
    # Role definition ids and names are unique in the tenant: derive both from where this stack lives.
    return authorization.RoleDefinition(
        f"{name}-team-blobs",
        scope=group_scope,
        role_definition_id=subscription.apply(
            lambda s: str(uuid.uuid5(uuid.NAMESPACE_URL, f"mlplatform/{s}/{rg}/{stack}/team-blobs"))
        ),
        role_name=subscription.apply(lambda s: f"mlplatform team blobs {digest(s, rg, stack)[:12]}"),
        description=f"ML platform stack {stack}: blob data only, each assignment narrows it to a team's folder",
        role_type="CustomRole",
        permissions=[{"actions": [], "data_actions": list(BLOB_DATA_ACTIONS)}],
        assignable_scopes=[group_scope],
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _federated_identity(
    name: str,
    parent: pulumi.Resource,
    cfg: AzureConfig,
    stack: str,
    team: TeamSpec,
    accounts: Sequence[tuple[str, str]],
) -> managedidentity.UserAssignedIdentity:
    """A team's identity, trusted by each of its (namespace, ServiceAccount) `accounts`."""
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-team-{team.name}",
        resource_group_name=cfg.resource_group,
        location=cfg.location,
        resource_name_=f"mlplatform-{slug(stack)}-{team.name}"[:128],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    previous: list[pulumi.Resource] = []
    for namespace, account_name in accounts:
        # One write at a time: Azure refuses concurrent federated-credential changes on an identity.
        credential = managedidentity.FederatedIdentityCredential(
            f"{name}-team-{team.name}-{namespace}-{account_name}",
            resource_group_name=cfg.resource_group,
            resource_name_=identity.name,
            federated_identity_credential_resource_name=f"{namespace}-{account_name}",
            issuer=cfg.oidc_issuer_url,
            subject=f"system:serviceaccount:{namespace}:{account_name}",
            audiences=["api://AzureADTokenExchange"],
            opts=pulumi.ResourceOptions(parent=parent, depends_on=previous),
        )
        previous = [credential]
    return identity
