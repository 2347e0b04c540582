"""aws: an S3 bucket, RDS for MySQL 8.4 and IAM roles for service accounts, for an EKS cluster.

Nothing authenticates with static keys: platform components and each team's workloads assume
IAM roles through the cluster's OIDC provider (IRSA), each team's role reaching only its prefix.
The bucket and the database are protected (a `pulumi destroy` refuses to delete them) and
retained; the database also has deletion protection and takes a final snapshot.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from distributions.aws_policies import (
    access_policy,
    bucket_name,
    database_identifier,
    team_role_name,
    tls_only_policy,
    trust_policy,
)
from distributions.base import BackingServices, DistributionArgs, kept, stateful
from distributions.database import database_of_platform_stack, server_outside_cluster
from distributions.external import external_database, external_object_store
from inputs.aws import AwsConfig
from library.context import PlatformContext
from library.passwords import password
from library.services import Database, ObjectStore, TeamAccess, team_prefix

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
DATABASE_USER = "mlplatform"
# Per size: allocated storage (GiB), automated backup retention (days), Multi-AZ standby.
DATABASE_SIZES = {"small": (50, 7, False), "medium": (200, 14, True), "large": (1000, 30, True)}
# RDS for MySQL 8.4 parameters: ML Metadata's client needs mysql_native_password, which MySQL 8.4
# ships disabled; MLflow 3.12+ creates triggers, which binary logging (on with backups) refuses
# to non-SUPER accounts unless trusted.
DATABASE_PARAMETERS = [
    {"name": "mysql_native_password", "value": "ON", "apply_method": "pending-reboot"},
    {"name": "log_bin_trust_function_creators", "value": "1", "apply_method": "immediate"},
]
PARAMETER_GROUP_FAMILY = "mysql8.4"


class Aws(BackingServices):
    """S3, RDS for MySQL and IRSA roles on AWS, or the database and bucket the stack brings."""

    def __init__(self, name: str, args: DistributionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("Aws", name, opts)
        cfg = args.backing.aws
        if cfg is None:
            raise TypeError("Aws needs args.backing.aws: the stack's aws settings (inputs/aws.py, AwsConfig)")
        part, stack = args.platform_part, args.platform.stack
        if args.backing.database is not None:
            self.database, db_ready = external_database(name, self, args.platform, args.backing.database, part)
        elif part:
            self.database, db_ready = rds_database(name, self, cfg, args.platform)
        else:
            self.database, db_ready = database_of_platform_stack(args.platform_outputs), []
        if args.backing.object_store is not None:
            self.object_store, self.team_access, store_ready = external_object_store(
                name, self, args.platform, args.teams, args.backing.object_store, kind="aws-s3", platform_part=part
            )
        else:
            self.object_store = s3_bucket(name, self, cfg, stack) if part else s3_store(cfg, stack)
            self.team_access = {t.name: TeamAccess(prefix=team_prefix(t.name)) for t in args.teams}
            store_ready = []
        if self.object_store.credentials_secret is None:
            if part:
                self.platform_account_annotations = platform_role(name, self, cfg, args, self.object_store.bucket)
            self.team_access |= team_roles(name, self, cfg, args, self.object_store.bucket)
        self.ready = [*db_ready, *store_ready]
        self.register_outputs({"databaseHost": self.database.host, "bucket": self.object_store.bucket})


def rds_database(
    name: str, parent: pulumi.Resource, cfg: AwsConfig, platform: PlatformContext
) -> tuple[Database, list[pulumi.Resource]]:
    """RDS for MySQL 8.4 in the private subnets, reachable from the cluster's nodes only; protected,
    retained, with deletion protection and a final snapshot."""
    stack = platform.stack
    storage, backup_days, multi_az = DATABASE_SIZES[platform.sizing.size]
    group, subnets = _database_network(name, parent, cfg)
    parameters = aws.rds.ParameterGroup(
        f"{name}-db",
        family=PARAMETER_GROUP_FAMILY,
        description="ML platform MySQL 8.4",
        parameters=DATABASE_PARAMETERS,
        opts=kept(parent),
    )
    admin_password = password(f"{name}-db-admin", parent, 32, lower=True)
    instance = aws.rds.Instance(
        f"{name}-db",
        identifier=database_identifier(stack),
        engine="mysql",
        engine_version="8.4",
        instance_class=cfg.database_instance_class,
        allocated_storage=storage,
        max_allocated_storage=storage * 4,
        storage_type="gp3",
        storage_encrypted=True,
        username=DATABASE_USER,
        password=admin_password,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[group.id],
        parameter_group_name=parameters.name,
        publicly_accessible=False,
        multi_az=multi_az,
        deletion_protection=True,
        backup_retention_period=backup_days,
        skip_final_snapshot=False,
        final_snapshot_identifier=database_identifier(stack, "-final", 255),
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        opts=stateful(parent),
    )
    return server_outside_cluster(name, parent, platform, instance.address, 3306, DATABASE_USER, admin_password)


def _database_network(
    name: str, parent: pulumi.Resource, cfg: AwsConfig
) -> tuple[aws.ec2.SecurityGroup, aws.rds.SubnetGroup]:
    """The database's security group (MySQL from the cluster's nodes only) and subnet group."""
    group = aws.ec2.SecurityGroup(
        f"{name}-db",
        vpc_id=cfg.vpc_id,
        revoke_rules_on_delete=True,
        description="MySQL of the ML platform: reachable from the cluster's nodes only",
        opts=kept(parent),
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-db-from-cluster",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=3306,
        to_port=3306,
        referenced_security_group_id=cfg.cluster_security_group_id,
        description="MySQL from the EKS cluster",
        opts=kept(parent),
    )
    subnets = aws.rds.SubnetGroup(
        f"{name}-db",
        subnet_ids=list(cfg.private_subnet_ids),
        description="Private subnets of the ML platform's database",
        opts=kept(parent),
    )
    return group, subnets


def s3_store(cfg: AwsConfig, stack: str) -> ObjectStore:
    """The platform's bucket as clients reach it (IRSA: no keys)."""
    return ObjectStore(
        kind="aws-s3",
        endpoint=f"s3.{cfg.region}.{cfg.dns_suffix}",
        secure=True,
        region=cfg.region,
        bucket=bucket_name(cfg, stack),
        credentials_secret=None,
    )


def s3_bucket(name: str, parent: pulumi.Resource, cfg: AwsConfig, stack: str) -> ObjectStore:
    """A private, versioned, encrypted, TLS-only bucket (protected and retained) reached by IRSA."""
    bucket = bucket_name(cfg, stack)
    store = aws.s3.Bucket(f"{name}-bucket", bucket=bucket, force_destroy=False, opts=stateful(parent))
    aws.s3.BucketOwnershipControls(
        f"{name}-bucket", bucket=store.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=kept(parent)
    )
    aws.s3.BucketPublicAccessBlock(
        f"{name}-bucket",
        bucket=store.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        skip_destroy=True,  # the provider's own way to keep it (removed from state only)
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.s3.BucketVersioning(
        f"{name}-bucket", bucket=store.id, versioning_configuration={"status": "Enabled"}, opts=kept(parent)
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-bucket",
        bucket=store.id,
        opts=kept(parent),
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}],
    )
    aws.s3.BucketPolicy(f"{name}-bucket", bucket=store.id, policy=tls_only_policy(cfg, bucket), opts=kept(parent))
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-bucket",
        bucket=store.id,
        opts=kept(parent),
        rules=[
            {
                "id": "tidy-versions-and-uploads",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": 30},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
    )
    return s3_store(cfg, stack)


def platform_role(
    name: str, parent: pulumi.Resource, cfg: AwsConfig, args: DistributionArgs, bucket: str
) -> dict[str, pulumi.Input[str]]:
    """The IRSA role of the platform's ServiceAccounts, on the whole bucket; their annotations."""
    ns = args.platform.namespace
    role = aws.iam.Role(
        f"{name}-platform",
        assume_role_policy=trust_policy(cfg, [f"system:serviceaccount:{ns}:{sa}" for sa in args.platform_accounts]),
        description="ML platform components: the whole bucket",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.iam.RolePolicy(
        f"{name}-platform",
        role=role.id,
        policy=access_policy(cfg, bucket, None),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return {ROLE_ANNOTATION: role.arn}


def team_roles(
    name: str, parent: pulumi.Resource, cfg: AwsConfig, args: DistributionArgs, bucket: str
) -> dict[str, TeamAccess]:
    """Each team's IRSA role, trusted by the team's ServiceAccounts, reaching only its prefix."""
    stack = args.platform.stack
    access = {}
    for team in args.teams:
        subjects = [f"system:serviceaccount:{n}:{sa}" for n, sa in args.team_accounts.get(team.name, ())]
        role = aws.iam.Role(
            f"{name}-team-{team.name}",
            name=team_role_name(f"{name}-team-{team.name}", cfg.account, cfg.region, stack),
            assume_role_policy=trust_policy(cfg, subjects),
            description=f"ML platform team {team.name}: its prefix only",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        aws.iam.RolePolicy(
            f"{name}-team-{team.name}",
            role=role.id,
            policy=access_policy(cfg, bucket, team_prefix(team.name)),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        access[team.name] = TeamAccess(
            prefix=team_prefix(team.name), service_account_annotations={ROLE_ANNOTATION: role.arn}
        )
    return access
