"""aws: an S3 bucket, RDS for MySQL 8.4 and IAM roles for service accounts, for an EKS cluster.

Nothing authenticates with static keys: platform components and each team's workloads assume
IAM roles through the cluster's OIDC provider (IRSA), each team's role reaching only its prefix.
The bucket and the database are protected (a `pulumi destroy` refuses to delete them) and
retained; the database also has deletion protection and takes a final snapshot.
"""

from __future__ import annotations

import hashlib
import json
import re

import pulumi
import pulumi_aws as aws

from distributions.base import BackingServices, DistributionArgs
from distributions.byo import external_database, external_object_store
from distributions.incluster import managed_database, password, team_prefix
from inputs.backing import AwsConfig
from library.services import ObjectStore, TeamAccess

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
ROLE_NAME_LIMIT = 64
"""IAM's limit on a role name."""
AUTONAME_SUFFIX = 8
"""What Pulumi's auto-naming appends to a resource name: '-' and 7 random hex characters."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def database_identifier(stack: str, suffix: str = "", limit: int = 63) -> str:
    """An RDS identifier (instance 1-63, snapshot 1-255): letters, digits and single hyphens,
    starting with a letter and not ending in a hyphen. Every stack whose identifier was valid
    before keeps it exactly (changing it would replace the database)."""
    return re.sub(r"-+", "-", f"mlplatform-{_slug(stack)}{suffix}")[:limit].rstrip("-")


def team_role_name(resource_name: str, *scope: str) -> str | None:
    """None while Pulumi's auto-name (`resource_name` plus 8 characters) fits IAM's limit, so
    existing roles keep their names; otherwise the start of `resource_name` and a hash of it and
    `scope` (what makes it unique in the account, as the random suffix would)."""
    if len(resource_name) + AUTONAME_SUFFIX <= ROLE_NAME_LIMIT:
        return None
    digest = hashlib.sha256("/".join((*scope, resource_name)).encode()).hexdigest()[: AUTONAME_SUFFIX - 1]
    return f"{resource_name[: ROLE_NAME_LIMIT - AUTONAME_SUFFIX].rstrip('-')}-{digest}"


def bucket_name(cfg: AwsConfig, stack: str) -> str:
    """A stable, globally unique bucket name: account, region and stack (S3 rules: 3-63, a-z0-9.-)."""
    return f"mlplatform-{cfg.account}-{cfg.region}-{_slug(stack)}"[:63].rstrip("-")


def trust_policy(cfg: AwsConfig, subjects: list[str]) -> str:
    """An IRSA trust policy: the cluster's OIDC provider may assume the role for these service accounts."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": cfg.oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{cfg.oidc_issuer}:aud": "sts.amazonaws.com",
                            f"{cfg.oidc_issuer}:sub": sorted(subjects),
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def access_policy(cfg: AwsConfig, bucket: str, prefix: str | None) -> str:
    """Read, write and list on the bucket, or only below `prefix`."""
    arn = f"arn:{cfg.partition}:s3:::{bucket}"
    objects = f"{arn}/{prefix}*" if prefix else f"{arn}/*"
    listing: dict = {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arn}
    if prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": arn},
                listing,
                {
                    "Effect": "Allow",
                    "Action": [
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:GetObjectTagging",
                        "s3:PutObjectTagging",
                    ],
                    "Resource": objects,
                },
            ],
        },
        sort_keys=True,
    )


def tls_only_policy(cfg: AwsConfig, bucket: str) -> str:
    arn = f"arn:{cfg.partition}:s3:::{bucket}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )


class Aws(BackingServices):
    """S3, RDS for MySQL and IRSA roles on AWS, or the database and bucket the stack brings."""

    def __init__(self, name: str, args: DistributionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:distributions:Aws", name, None, opts)
        cfg = args.backing.aws
        assert cfg is not None, "the aws distribution needs AwsConfig (inputs/backing.py)"
        platform = args.platform
        stack = pulumi.get_stack()
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        # What a retained resource needs to keep working (its network, parameters, protections) is
        # retained with it: a destroy, or a switch to a service the stack brings, forgets it in
        # Pulumi instead of deleting it from under the kept bucket or database.
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)

        # --- database ------------------------------------------------------------------------
        if args.backing.database is not None:
            self.database, db_ready = external_database(name, self, platform, args.backing.database)
        else:
            storage, backup_days, multi_az = DATABASE_SIZES[platform.sizing.size]
            group = aws.ec2.SecurityGroup(
                f"{name}-db",
                vpc_id=cfg.vpc_id,
                revoke_rules_on_delete=True,
                description="MySQL of the ML platform: reachable from the cluster's nodes only",
                opts=kept,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-db-from-cluster",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=3306,
                to_port=3306,
                referenced_security_group_id=cfg.cluster_security_group_id,
                description="MySQL from the EKS cluster",
                opts=kept,
            )
            subnets = aws.rds.SubnetGroup(
                f"{name}-db",
                subnet_ids=list(cfg.private_subnet_ids),
                description="Private subnets of the ML platform's database",
                opts=kept,
            )
            parameters = aws.rds.ParameterGroup(
                f"{name}-db",
                family=PARAMETER_GROUP_FAMILY,
                description="ML platform MySQL 8.4",
                parameters=DATABASE_PARAMETERS,
                opts=kept,
            )
            admin_password = password(f"{name}-db-admin", self, 32)
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
                opts=stateful,
            )
            self.database, db_ready = managed_database(
                name, self, platform, instance.address, 3306, DATABASE_USER, admin_password
            )

        # --- object store --------------------------------------------------------------------
        given = args.backing.object_store
        if given is not None:
            self.object_store, self.team_access, store_ready = external_object_store(
                name, self, platform, args.teams, given, kind="aws-s3"
            )
            bucket = given.bucket
        else:
            bucket = bucket_name(cfg, stack)
            store = aws.s3.Bucket(f"{name}-bucket", bucket=bucket, force_destroy=False, opts=stateful)
            aws.s3.BucketOwnershipControls(
                f"{name}-bucket", bucket=store.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=kept
            )
            aws.s3.BucketPublicAccessBlock(
                f"{name}-bucket",
                bucket=store.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                skip_destroy=True,  # the provider's own way to keep it (removed from state only)
                opts=child,
            )
            aws.s3.BucketVersioning(
                f"{name}-bucket", bucket=store.id, versioning_configuration={"status": "Enabled"}, opts=kept
            )
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-bucket",
                bucket=store.id,
                opts=kept,
                rules=[
                    {
                        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"},
                        "bucket_key_enabled": True,
                    }
                ],
            )
            aws.s3.BucketPolicy(f"{name}-bucket", bucket=store.id, policy=tls_only_policy(cfg, bucket), opts=kept)
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-bucket",
                bucket=store.id,
                opts=kept,
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
            self.object_store = ObjectStore(
                kind="aws-s3",
                endpoint=f"s3.{cfg.region}.{cfg.dns_suffix}",
                secure=True,
                region=cfg.region,
                bucket=bucket,
                credentials_secret=None,
            )
            self.team_access = {t.name: TeamAccess(prefix=team_prefix(t.name)) for t in args.teams}
            store_ready = []

        # --- identities (IRSA) ---------------------------------------------------------------
        if self.object_store.credentials_secret is None:
            ns = platform.namespace
            role = aws.iam.Role(
                f"{name}-platform",
                assume_role_policy=trust_policy(
                    cfg, [f"system:serviceaccount:{ns}:{sa}" for sa in args.platform_accounts]
                ),
                description="ML platform components: the whole bucket",
                opts=child,
            )
            aws.iam.RolePolicy(f"{name}-platform", role=role.id, policy=access_policy(cfg, bucket, None), opts=child)
            self.platform_account_annotations = {ROLE_ANNOTATION: role.arn}
            for team in args.teams:
                subjects = [f"system:serviceaccount:{n}:{sa}" for n, sa in args.team_accounts.get(team.name, ())]
                role = aws.iam.Role(
                    f"{name}-team-{team.name}",
                    name=team_role_name(f"{name}-team-{team.name}", cfg.account, cfg.region, stack),
                    assume_role_policy=trust_policy(cfg, subjects),
                    description=f"ML platform team {team.name}: its prefix only",
                    opts=child,
                )
                aws.iam.RolePolicy(
                    f"{name}-team-{team.name}",
                    role=role.id,
                    policy=access_policy(cfg, bucket, team_prefix(team.name)),
                    opts=child,
                )
                self.team_access[team.name] = TeamAccess(
                    prefix=team_prefix(team.name), service_account_annotations={ROLE_ANNOTATION: role.arn}
                )

        self.ready = [*db_ready, *store_ready]
        self.register_outputs({"databaseHost": self.database.host, "bucket": self.object_store.bucket})
