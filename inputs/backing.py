"""Distribution settings: which distribution a stack uses, what it brings (an existing database or
bucket: inputs/external.py) and where the cloud distributions create their services
(inputs/aws.py, inputs/azure.py). Parsed and checked with the other settings, before anything is
registered."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from inputs import aws, azure, external
from inputs.aws import AwsConfig
from inputs.azure import AzureConfig
from inputs.external import ExternalDatabase, ExternalObjectStore
from inputs.reader import ConfigReader


class Distribution(enum.StrEnum):
    """Which backing services (database, object store, identity) the platform runs on."""

    VANILLA = "vanilla"
    AWS = "aws"
    AZURE = "azure"


@dataclass(frozen=True)
class BackingConfig:
    """What a distribution creates and what it is given."""

    database: ExternalDatabase | None = None
    """Set: use this server, create none."""
    object_store: ExternalObjectStore | None = None
    """Set: use this bucket, create none."""
    aws: AwsConfig | None = None
    azure: AzureConfig | None = None


def parse(distribution: Distribution, read: ConfigReader) -> BackingConfig:
    """The distribution settings of a stack, or an InputError naming the key."""
    region = read.provider_text("aws:region") if distribution is Distribution.AWS else ""
    database = external.parse_database(read)
    aws_endpoint = f"s3.{region}.{aws.aws_dns_suffix(region)}" if distribution is Distribution.AWS else ""
    store = external.parse_object_store(
        read, distribution, region, default_endpoint=aws_endpoint, keys_required=distribution is not Distribution.AWS
    )
    if distribution is Distribution.AWS:
        return BackingConfig(database=database, object_store=store, aws=aws.parse(read, database, store))
    if distribution is Distribution.AZURE:
        return BackingConfig(database=database, object_store=store, azure=azure.parse(read, database, store))
    return BackingConfig(database=database, object_store=store)
