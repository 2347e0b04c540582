"""Names and policy documents of the aws distribution's resources: pure functions of the stack's
settings, kept stable (a changed name or identifier replaces the resource)."""

from __future__ import annotations

import hashlib
import json
import re

from inputs.aws import AwsConfig

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
