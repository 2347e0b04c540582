"""Bring-your-own services: an existing MySQL server or S3-API bucket named in the stack's config,
used instead of the ones a distribution would create."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inputs.reader import ConfigReader, SecretValue

_HOST = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?")
_ENDPOINT = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")


@dataclass(frozen=True)
class ExternalDatabase:
    """An existing MySQL 8 server the platform uses instead of creating one."""

    host: str
    port: int
    admin_user: str
    admin_password: SecretValue
    """An account allowed to create databases and users."""


@dataclass(frozen=True)
class ExternalObjectStore:
    """An existing S3-API bucket the platform uses instead of creating one."""

    endpoint: str
    """host[:port] of the S3 API."""
    bucket: str
    region: str
    secure: bool
    access_key: SecretValue | None
    """Keys for the bucket; None where workload identity grants access (aws)."""
    secret_key: SecretValue | None


def parse_database(read: ConfigReader) -> ExternalDatabase | None:
    """The MySQL server the stack brings (databaseHost and its admin account), or None."""
    host = read.text("databaseHost")
    if not host:
        return None
    read.matching("databaseHost", _HOST, "a DNS name or IP address of the MySQL server")
    user = read.matching("databaseAdminUser", _USER, "the MySQL account that creates the components' databases")
    password = read.secret("databaseAdminPassword")
    if password is None:
        raise read.fail(
            "databaseAdminPassword",
            None,
            "is required with databaseHost",
            "the account's password, set with `pulumi config set --secret`",
        )
    return ExternalDatabase(
        host=host, port=read.integer("databasePort", 1, 65535), admin_user=user, admin_password=password
    )


def parse_object_store(
    read: ConfigReader, distribution: str, region: str, default_endpoint: str = "", keys_required: bool = True
) -> ExternalObjectStore | None:
    """The bucket the stack brings, or None. `default_endpoint` stands in for an unset endpoint (the
    region's S3 on aws); `keys_required`: False where workload identity can grant access (aws)."""
    bucket = read.text("objectStoreBucket")
    if not bucket:
        return None
    read.matching("objectStoreBucket", _BUCKET, "an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'")
    endpoint = read.text("objectStoreEndpoint")
    endpoint = endpoint or default_endpoint
    read.matching(
        "objectStoreEndpoint", _ENDPOINT, "host[:port] of the S3 API, such as minio.storage:9000", value=endpoint
    )
    access, secret = read.secret("objectStoreAccessKey"), read.secret("objectStoreSecretKey")
    if (access is None) != (secret is None):
        raise read.fail(
            "objectStoreSecretKey" if secret is None else "objectStoreAccessKey",
            None,
            "is required with the other key",
            "both objectStoreAccessKey and objectStoreSecretKey, or neither",
        )
    if access is None and keys_required:
        raise read.fail(
            "objectStoreAccessKey",
            None,
            f"is required for a bucket with the {distribution} distribution",
            "the bucket's access key, set with `pulumi config set --secret`",
        )
    return ExternalObjectStore(
        endpoint=endpoint,
        bucket=bucket,
        region=read.text("objectStoreRegion") or region or "us-east-1",
        secure=read.flag("objectStoreSecure"),
        access_key=access,
        secret_key=secret,
    )
