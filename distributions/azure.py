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

import pulumi
from pulumi_azure_native import dbformysql, network, privatedns, storage

from distributions.azure_identities import team_identities, team_role
from distributions.azure_policies import TEAMS_CONTAINER, digest, slug, storage_account_name
from distributions.base import BackingServices, DistributionArgs, kept, stateful
from distributions.database import database_of_platform_stack, server_outside_cluster
from distributions.external import external_database, external_object_store
from distributions.seaweedfs import BUCKET, BlobRemote, seaweedfs
from inputs.azure import AzureConfig
from library.context import PlatformContext
from library.passwords import password
from library.services import Database

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


class Azure(BackingServices):
    """Azure Database for MySQL, a Storage Account behind the in-cluster S3 gateway, and one
    workload identity per team; or the database and bucket the stack brings."""

    def __init__(self, name: str, args: DistributionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Azure", name, opts)
        cfg = args.backing.azure
        if cfg is None:
            raise TypeError("Azure needs args.backing.azure: the stack's azure settings (inputs/azure.py, AzureConfig)")
        part, ref = args.platform_part, args.platform_outputs
        if args.backing.database is not None:
            self.database, db_ready = external_database(name, self, args.platform, args.backing.database, part)
        elif part:
            self.database, db_ready = mysql_server(name, self, cfg, args.platform)
        else:
            self.database, db_ready = database_of_platform_stack(ref), []
        if args.backing.object_store is not None:
            self.object_store, self.team_access, store_ready = external_object_store(
                name, self, args.platform, args.teams, args.backing.object_store, platform_part=part
            )
        else:
            remote, role, container = None, None, None
            if part:
                account, containers = blob_storage(name, self, cfg, args.platform.stack)
                keys = storage.list_storage_account_keys_output(
                    resource_group_name=cfg.resource_group, account_name=account.name
                )
                remote = BlobRemote(
                    account=account.name,
                    container=BUCKET,
                    key=pulumi.Output.secret(keys.keys.apply(lambda k: k[0].value)),
                )
                role, container = team_role(name, self, cfg, args.platform.stack).id, containers[TEAMS_CONTAINER].id
                # What the teams' stacks read (tools.stacks): the scope and role of their identities.
                self.exports = {"teamBlobRoleId": role, "teamsContainerId": container}
            elif ref is not None:
                role, container = ref.get_output("teamBlobRoleId"), ref.get_output("teamsContainerId")
            self.object_store, self.team_access, store_ready = seaweedfs(
                name, self, args.platform, args.teams, remote=remote, platform_part=part
            )
            self.team_access |= team_identities(name, self, cfg, args, container, role, self.team_access)
        self.ready = [*db_ready, *store_ready]
        self.register_outputs({"databaseHost": self.database.host, "bucket": self.object_store.bucket})


def mysql_server(
    name: str, parent: pulumi.Resource, cfg: AzureConfig, platform: PlatformContext
) -> tuple[Database, list[pulumi.Resource]]:
    """Azure Database for MySQL flexible server 8.4 in a delegated subnet with a private DNS zone,
    no public access; protected and retained. Ready once its parameters are set."""
    stack, rg = platform.stack, cfg.resource_group
    storage_gb, backup_days = DATABASE_SIZES[platform.sizing.size]
    subnet, zone, link = _database_network(name, parent, cfg, stack)
    admin_password = password(f"{name}-db-admin", parent, 32, lower=True)
    server = dbformysql.Server(
        f"{name}-db",
        resource_group_name=rg,
        location=cfg.location,
        server_name=f"mlplatform-{slug(stack)[:30]}-{digest(rg, stack)[:8]}",
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
        opts=pulumi.ResourceOptions.merge(stateful(parent), pulumi.ResourceOptions(depends_on=[link])),
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
                opts=pulumi.ResourceOptions.merge(kept(parent), pulumi.ResourceOptions(depends_on=parameters[-1:])),
            )
        )
    database, ready = server_outside_cluster(
        name, parent, platform, server.fully_qualified_domain_name, 3306, DATABASE_USER, admin_password
    )
    return database, [*ready, *parameters]


def _database_network(
    name: str, parent: pulumi.Resource, cfg: AzureConfig, platform_stack: str
) -> tuple[network.Subnet, privatedns.PrivateZone, privatedns.VirtualNetworkLink]:
    """The server's delegated subnet, and its private DNS zone linked to the cluster's network."""
    stack = slug(platform_stack)
    vnet_group, vnet_name = cfg.virtual_network_id.split("/")[4], cfg.virtual_network_id.split("/")[-1]
    subnet = network.Subnet(
        f"{name}-db",
        resource_group_name=vnet_group,
        virtual_network_name=vnet_name,
        subnet_name=f"mlplatform-{stack}-mysql",
        address_prefix=cfg.database_subnet_prefix,
        delegations=[{"name": "mysql", "service_name": "Microsoft.DBforMySQL/flexibleServers"}],
        opts=kept(parent),
    )
    zone = privatedns.PrivateZone(
        f"{name}-db",
        resource_group_name=cfg.resource_group,
        location="global",
        private_zone_name=f"mlplatform-{stack}.private.mysql.database.azure.com",
        opts=kept(parent),
    )
    link = privatedns.VirtualNetworkLink(
        f"{name}-db",
        resource_group_name=cfg.resource_group,
        location="global",
        private_zone_name=zone.name,
        virtual_network_link_name=f"mlplatform-{stack}",
        registration_enabled=False,
        virtual_network={"id": cfg.virtual_network_id},
        opts=kept(parent),
    )
    return subnet, zone, link


def blob_storage(
    name: str, parent: pulumi.Resource, cfg: AzureConfig, stack: str
) -> tuple[storage.StorageAccount, dict[str, storage.BlobContainer]]:
    """The storage account (admitting the cluster's subnets only), versioned with soft delete, and
    its containers by name: the bucket's mirror and the teams' folders (protected and retained)."""
    account = storage.StorageAccount(
        f"{name}-storage",
        resource_group_name=cfg.resource_group,
        location=cfg.location,
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
        opts=pulumi.ResourceOptions.merge(stateful(parent), pulumi.ResourceOptions(ignore_changes=["sku"])),
    )
    storage.BlobServiceProperties(
        f"{name}-storage",
        resource_group_name=cfg.resource_group,
        account_name=account.name,
        blob_services_name="default",
        is_versioning_enabled=True,
        delete_retention_policy={"enabled": True, "days": 14},
        container_delete_retention_policy={"enabled": True, "days": 14},
        opts=kept(parent),
    )
    return account, {
        c: storage.BlobContainer(
            f"{name}-{c}",
            resource_group_name=cfg.resource_group,
            account_name=account.name,
            container_name=c,
            public_access="None",
            opts=stateful(parent),
        )
        for c in (BUCKET, TEAMS_CONTAINER)
    }
