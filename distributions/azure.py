"""azure: Azure Database for MySQL, Blob Storage behind the in-cluster S3 gateway, workload identity.

Why the object store is SeaweedFS in front of Blob Storage rather than Blob Storage itself:
Kubeflow Pipelines' API server, UI and v2 launcher speak only S3 (minio://, s3://, gs://; upstream
removed its Azure overlay and MinIO removed its Azure gateway), and the MLflow image has no Azure
Blob client. So the platform keeps the S3 API of the vanilla distribution (SeaweedFS, per-team keys
limited to each team's prefix) and SeaweedFS writes the bucket through to the `mlpipeline`
container (remote.mount + filer.remote.sync). SeaweedFS 4.00 authenticates to Blob Storage with an
account key only, so that key sits in the SeaweedFS Secret: the one unavoidable key (newer SeaweedFS
releases add Entra ID). Each team also gets a user-assigned identity, federated with its
ServiceAccounts, allowed only below `<team>/` of the `teams` container: direct Blob access for the
team's own workloads with Azure SDKs, no keys. Their role is a custom one with blob data actions
only: the built-in Storage Blob Data Contributor also carries control-plane actions (delete the
container) that a role-assignment condition cannot narrow.

The server's version is "8.4" although the provider's API version (2024-02-01-preview) lists
only 5.7 and 8.0.21: the field is an open string, no stable API version lists 8.4 yet, and the
service accepts it (hashicorp/terraform-provider-azurerm#31099 sends 8.4 the same way).
"""

from __future__ import annotations

import hashlib
import re
import uuid

import pulumi
from pulumi_azure_native import authorization, dbformysql, managedidentity, network, privatedns, storage

from distributions.base import BackingServices, DistributionArgs
from distributions.byo import external_database, external_object_store
from distributions.incluster import BUCKET, BlobRemote, managed_database, password, seaweedfs
from inputs.backing import AzureConfig
from library.services import TeamAccess

CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
BLOB_DATA_ACTIONS = tuple(
    f"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{a}"
    for a in ("read", "write", "add/action", "delete")
)
"""What a team's identity may do, and all of it: the data actions `team_condition` narrows to the
team's folder (the built-in Storage Blob Data Contributor's, without its control-plane actions)."""
TEAMS_CONTAINER = "teams"
DATABASE_USER = "mlplatform"
# Per size: storage (GiB), automated backup retention (days).
DATABASE_SIZES = {"small": (64, 7), "medium": (256, 14), "large": (1024, 35)}
DATABASE_PARAMETERS = {
    # ML Metadata 1.14 has no TLS option for MySQL; the server is reachable only inside the
    # virtual network (delegated subnet, no public access), where traffic stays private.
    "transport": ("require_secure_transport", "OFF"),
    # ML Metadata's client needs mysql_native_password, which MySQL 8.4 ships disabled (and reads
    # only at start: it takes effect at the server's next restart).
    "native-password": ("mysql_native_password", "ON"),
}
"""Server parameters by resource-name suffix (a new suffix would replace the Configuration)."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def storage_account_name(cfg: AzureConfig, stack: str) -> str:
    """A stable, globally unique account name (3-24 lower-case letters and digits)."""
    return "mlp" + _digest(cfg.resource_group, cfg.location, stack)[:21]


def team_condition(team: str) -> str:
    """An ABAC condition: blob reads, writes and deletes only below `<team>/` of the teams container,
    listing only with that prefix (Azure role-assignment conditions, version 2.0)."""
    actions = "".join(f"!(ActionMatches{{'{a}'}}) AND " for a in BLOB_DATA_ACTIONS[1:])
    return (
        "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} "
        "AND NOT SubOperationMatches{'Blob.List'}) AND " + actions.removesuffix(" AND ") + ") OR ("
        f"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals '{TEAMS_CONTAINER}' "
        f"AND @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike '{team}/*'))"
        " AND ((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} "
        "AND SubOperationMatches{'Blob.List'})) OR ("
        "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] "
        f"StringStartsWith '{team}/'))"
    )


class Azure(BackingServices):
    """Azure Database for MySQL, a Storage Account behind the in-cluster S3 gateway, and one
    workload identity per team; or the database and bucket the stack brings."""

    def __init__(self, name: str, args: DistributionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:distributions:Azure", name, None, opts)
        cfg = args.backing.azure
        assert cfg is not None, "the azure distribution needs AzureConfig (inputs/backing.py)"
        platform = args.platform
        stack = pulumi.get_stack()
        rg, location = cfg.resource_group, cfg.location
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        # What a retained resource needs to keep working (its subnet, DNS, parameters, versioning)
        # is retained with it: a destroy, or a switch to a service the stack brings, forgets it in
        # Pulumi instead of deleting it from under the kept server or account.
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)

        # --- database ------------------------------------------------------------------------
        if args.backing.database is not None:
            self.database, db_ready = external_database(name, self, platform, args.backing.database)
        else:
            storage_gb, backup_days = DATABASE_SIZES[platform.sizing.size]
            vnet_group, vnet_name = cfg.virtual_network_id.split("/")[4], cfg.virtual_network_id.split("/")[-1]
            subnet = network.Subnet(
                f"{name}-db",
                resource_group_name=vnet_group,
                virtual_network_name=vnet_name,
                subnet_name=f"mlplatform-{_slug(stack)}-mysql",
                address_prefix=cfg.database_subnet_prefix,
                delegations=[{"name": "mysql", "service_name": "Microsoft.DBforMySQL/flexibleServers"}],
                opts=kept,
            )
            zone = privatedns.PrivateZone(
                f"{name}-db",
                resource_group_name=rg,
                location="global",
                private_zone_name=f"mlplatform-{_slug(stack)}.private.mysql.database.azure.com",
                opts=kept,
            )
            link = privatedns.VirtualNetworkLink(
                f"{name}-db",
                resource_group_name=rg,
                location="global",
                private_zone_name=zone.name,
                virtual_network_link_name=f"mlplatform-{_slug(stack)}",
                registration_enabled=False,
                virtual_network={"id": cfg.virtual_network_id},
                opts=kept,
            )
            admin_password = password(f"{name}-db-admin", self, 32)
            server = dbformysql.Server(
                f"{name}-db",
                resource_group_name=rg,
                location=location,
                server_name=f"mlplatform-{_slug(stack)[:30]}-{_digest(rg, stack)[:8]}",
                version="8.4",
                administrator_login=DATABASE_USER,
                administrator_login_password=admin_password,
                sku={"name": cfg.database_sku, "tier": cfg.database_tier},
                storage={"storage_size_gb": storage_gb, "auto_grow": "Enabled"},
                backup={"backup_retention_days": backup_days, "geo_redundant_backup": "Disabled"},
                high_availability={"mode": "ZoneRedundant" if cfg.high_availability else "Disabled"},
                network={
                    "delegated_subnet_resource_id": subnet.id,
                    "private_dns_zone_resource_id": zone.id,
                    "public_network_access": "Disabled",
                },
                opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[link])),
            )
            # One parameter write at a time: the server refuses concurrent configuration changes.
            parameters: list[pulumi.Resource] = []
            for suffix, (parameter, value) in DATABASE_PARAMETERS.items():
                parameters.append(
                    dbformysql.Configuration(
                        f"{name}-db-{suffix}",
                        resource_group_name=rg,
                        server_name=server.name,
                        configuration_name=parameter,
                        value=value,
                        source="user-override",
                        opts=pulumi.ResourceOptions.merge(kept, pulumi.ResourceOptions(depends_on=parameters[-1:])),
                    )
                )
            self.database, db_ready = managed_database(
                name, self, platform, server.fully_qualified_domain_name, 3306, DATABASE_USER, admin_password
            )
            db_ready = [*db_ready, *parameters]

        # --- object store and identities ---------------------------------------------------------
        if args.backing.object_store is not None:
            self.object_store, self.team_access, store_ready = external_object_store(
                name, self, platform, args.teams, args.backing.object_store
            )
        else:
            account = storage.StorageAccount(
                f"{name}-storage",
                resource_group_name=rg,
                location=location,
                account_name=storage_account_name(cfg, stack),
                kind="StorageV2",
                # Zone-redundant where the location has zones, else locally redundant. Azure does not
                # convert an account's redundancy by an update, so a later change is ignored.
                sku={"name": cfg.storage_sku},
                enable_https_traffic_only=True,
                minimum_tls_version="TLS1_2",
                allow_blob_public_access=False,
                # SeaweedFS 4.00's Azure remote authenticates with an account key (see module docs),
                # so the key, and Entra ID for the teams, work only from the cluster's subnets.
                allow_shared_key_access=True,
                public_network_access="Enabled",
                network_rule_set={
                    "default_action": "Deny",
                    "bypass": "None",
                    "virtual_network_rules": [
                        {"virtual_network_resource_id": subnet, "action": "Allow"} for subnet in cfg.cluster_subnet_ids
                    ],
                },
                opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(ignore_changes=["sku"])),
            )
            storage.BlobServiceProperties(
                f"{name}-storage",
                resource_group_name=rg,
                account_name=account.name,
                blob_services_name="default",
                is_versioning_enabled=True,
                delete_retention_policy={"enabled": True, "days": 14},
                container_delete_retention_policy={"enabled": True, "days": 14},
                opts=kept,
            )
            containers = {
                c: storage.BlobContainer(
                    f"{name}-{c}",
                    resource_group_name=rg,
                    account_name=account.name,
                    container_name=c,
                    public_access="None",
                    opts=stateful,
                )
                for c in (BUCKET, TEAMS_CONTAINER)
            }
            keys = storage.list_storage_account_keys_output(resource_group_name=rg, account_name=account.name)
            remote = BlobRemote(
                account=account.name, container=BUCKET, key=pulumi.Output.secret(keys.keys.apply(lambda k: k[0].value))
            )
            self.object_store, self.team_access, store_ready = seaweedfs(
                name, self, platform, args.teams, remote=remote
            )

            subscription = authorization.get_client_config_output().subscription_id
            group_scope = subscription.apply(lambda s: f"/subscriptions/{s}/resourceGroups/{rg}")
            # Role definition ids and names are unique in the tenant: derive both from where this stack lives.
            role = authorization.RoleDefinition(
                f"{name}-team-blobs",
                scope=group_scope,
                role_definition_id=subscription.apply(
                    lambda s: str(uuid.uuid5(uuid.NAMESPACE_URL, f"mlplatform/{s}/{rg}/{stack}/team-blobs"))
                ),
                role_name=subscription.apply(lambda s: f"mlplatform team blobs {_digest(s, rg, stack)[:12]}"),
                description=f"ML platform stack {stack}: blob data only, each assignment narrows it to a team's folder",
                role_type="CustomRole",
                permissions=[{"actions": [], "data_actions": list(BLOB_DATA_ACTIONS)}],
                assignable_scopes=[group_scope],
                opts=child,
            )
            for team in args.teams:
                identity = managedidentity.UserAssignedIdentity(
                    f"{name}-team-{team.name}",
                    resource_group_name=rg,
                    location=location,
                    resource_name_=f"mlplatform-{_slug(stack)}-{team.name}"[:128],
                    opts=child,
                )
                previous: list[pulumi.Resource] = []
                for namespace, account_name in args.team_accounts.get(team.name, ()):
                    # One write at a time: Azure refuses concurrent federated-credential changes on an identity.
                    credential = managedidentity.FederatedIdentityCredential(
                        f"{name}-team-{team.name}-{namespace}-{account_name}",
                        resource_group_name=rg,
                        resource_name_=identity.name,
                        federated_identity_credential_resource_name=f"{namespace}-{account_name}",
                        issuer=cfg.oidc_issuer_url,
                        subject=f"system:serviceaccount:{namespace}:{account_name}",
                        audiences=["api://AzureADTokenExchange"],
                        opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
                    )
                    previous = [credential]
                authorization.RoleAssignment(
                    f"{name}-team-{team.name}",
                    scope=containers[TEAMS_CONTAINER].id,
                    role_definition_id=role.id,
                    principal_id=identity.principal_id,
                    principal_type="ServicePrincipal",
                    # Role assignments are immutable: a stable name keeps `pulumi up` idempotent, and a
                    # new one per role (`/blobs`) lets the new assignment exist before the old is deleted.
                    role_assignment_name=str(
                        uuid.uuid5(uuid.NAMESPACE_URL, f"mlplatform/{rg}/{stack}/{team.name}/blobs")
                    ),
                    condition=team_condition(team.name),
                    condition_version="2.0",
                    description=f"ML platform team {team.name}: its own folder of the teams container",
                    opts=child,
                )
                keys_access = self.team_access[team.name]
                self.team_access[team.name] = TeamAccess(
                    prefix=keys_access.prefix,
                    access_key=keys_access.access_key,
                    secret_key=keys_access.secret_key,
                    service_account_annotations={CLIENT_ID_ANNOTATION: identity.client_id},
                )

        self.ready = [*db_ready, *store_ready]
        self.register_outputs({"databaseHost": self.database.host, "bucket": self.object_store.bucket})
