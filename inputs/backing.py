"""Distribution settings: what a stack brings (an existing database, bucket or cluster identity)
and where the cloud distributions create their services. Parsed and checked with the other
settings, before anything is registered."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from inputs.reader import ConfigReader, SecretValue

_HOST = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?")
_ENDPOINT = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
_OIDC_ARN = re.compile(
    r"arn:(aws|aws-us-gov|aws-cn):iam::(\d{12}):oidc-provider/(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/id/[A-Za-z0-9]+)"
)
_VPC = re.compile(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?")
_SUBNET = re.compile(r"subnet-[0-9a-f]{8}([0-9a-f]{9})?")
_SECURITY_GROUP = re.compile(r"sg-[0-9a-f]{8}([0-9a-f]{9})?")
_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9]+\.[a-z0-9]+")
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_RESOURCE_GROUP = re.compile(r"[-\w._()]{1,89}[-\w_()]")
_VNET_ID = re.compile(
    rf"/subscriptions/({_GUID})/resourceGroups/([-\w._()]+)/providers/Microsoft\.Network/virtualNetworks/([-\w._]+)"
)
_ISSUER = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[-\w.~%/]*)?")
_SUBNET_ID = re.compile(
    rf"/subscriptions/{_GUID}/resourceGroups/[-\w._()]+/providers/Microsoft\.Network/virtualNetworks/[-\w._]+"
    r"/subnets/[-\w._]+"
)
_AZURE_SKU = re.compile(r"Standard_([BDE])[A-Za-z0-9_]+")
AZURE_DATABASE_TIERS = {"B": "Burstable", "D": "GeneralPurpose", "E": "MemoryOptimized"}
"""The MySQL flexible server compute tier of each SKU series (the tier must match the SKU)."""


class Distribution(enum.StrEnum):
    """Which backing services (database, object store, identity) the platform runs on."""

    VANILLA = "vanilla"
    AWS = "aws"
    AZURE = "azure"


@cache
def regions() -> dict:
    return yaml.safe_load((Path(__file__).parent / "regions.yaml").read_text())


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


@dataclass(frozen=True)
class AwsConfig:
    """Where the aws distribution creates its services, and the EKS cluster it trusts."""

    region: str
    partition: str
    dns_suffix: str
    """The partition's endpoint domain (amazonaws.com, amazonaws.com.cn in China)."""
    account: str
    """The AWS account id (from the OIDC provider ARN)."""
    oidc_provider_arn: str
    oidc_issuer: str
    """The issuer host and path (no scheme), as IAM condition keys use it."""
    vpc_id: str
    private_subnet_ids: tuple[str, ...]
    cluster_security_group_id: str
    database_instance_class: str


@dataclass(frozen=True)
class AzureConfig:
    """Where the azure distribution creates its services, and the AKS cluster it trusts."""

    resource_group: str
    location: str
    oidc_issuer_url: str
    virtual_network_id: str
    subscription_id: str
    database_subnet_prefix: str
    database_sku: str
    database_tier: str
    """Burstable, GeneralPurpose or MemoryOptimized: the tier of the SKU's series."""
    high_availability: bool
    storage_sku: str
    """Standard_ZRS where the location has availability zones, else Standard_LRS."""
    cluster_subnet_ids: tuple[str, ...]
    """The cluster's node subnets: the only networks the storage account admits."""


@dataclass(frozen=True)
class BackingConfig:
    """What a distribution creates and what it is given."""

    database: ExternalDatabase | None = None
    """Set: use this server, create none."""
    object_store: ExternalObjectStore | None = None
    """Set: use this bucket, create none."""
    aws: AwsConfig | None = None
    azure: AzureConfig | None = None


def _external_database(read: ConfigReader) -> ExternalDatabase | None:
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


def aws_partitions() -> dict[str, str]:
    """Each AWS region a stack may name, with its partition."""
    return {r: partition for partition, names in regions()["aws"].items() for r in names}


def aws_dns_suffix(region: str) -> str:
    """The endpoint domain of `region`'s partition (amazonaws.com if the region is unknown: the
    region check names the real problem)."""
    return regions()["aws-dns-suffix"][aws_partitions().get(region, "aws")]


def _external_object_store(read: ConfigReader, distribution: Distribution, region: str) -> ExternalObjectStore | None:
    bucket = read.text("objectStoreBucket")
    if not bucket:
        return None
    read.matching("objectStoreBucket", _BUCKET, "an S3 bucket name: 3-63 lower-case letters, digits, '.' and '-'")
    endpoint = read.text("objectStoreEndpoint")
    if not endpoint and distribution is Distribution.AWS:
        endpoint = f"s3.{region}.{aws_dns_suffix(region)}"
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
    if access is None and distribution is not Distribution.AWS:
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


def _aws(read: ConfigReader, database: ExternalDatabase | None, store: ExternalObjectStore | None) -> AwsConfig:
    region = read.provider_text("aws:region")
    known = aws_partitions()
    if region not in known:
        raise read.fail(
            "aws:region",
            region or None,
            "is not an AWS region",
            "a region such as eu-west-1 (set with `pulumi config set aws:region ...`)",
        )
    needs_identity = store is None or store.access_key is None
    arn = read.text("awsOidcProviderArn")
    match = _OIDC_ARN.fullmatch(arn)
    if needs_identity and not match:
        raise read.fail(
            "awsOidcProviderArn",
            arn or None,
            "is not the ARN of an EKS cluster's OIDC provider",
            "arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>",
        )
    if match and match.group(1) != known[region]:
        raise read.fail(
            "awsOidcProviderArn",
            arn,
            f"is in partition {match.group(1)}, not {known[region]}",
            f"an ARN of the {known[region]} partition, where {region} is",
        )
    vpc = subnets = security_group = ""
    if database is None:
        vpc = read.matching("awsVpcId", _VPC, "the EKS cluster's VPC id, such as vpc-0abc1234def567890")
        subnets = read.array("awsPrivateSubnetIds")
        if len(subnets) < 2:
            raise read.fail(
                "awsPrivateSubnetIds",
                subnets,
                "needs at least two subnets",
                "private subnet ids of the VPC in two or more availability zones",
            )
        for subnet in subnets:
            if not _SUBNET.fullmatch(subnet):
                raise read.fail("awsPrivateSubnetIds", subnet, "is not a subnet id", "such as subnet-0abc1234def567890")
        security_group = read.matching(
            "awsClusterSecurityGroupId",
            _SECURITY_GROUP,
            "the security group of the cluster's nodes, such as sg-0abc1234def567890",
        )
    return AwsConfig(
        region=region,
        partition=known[region],
        dns_suffix=aws_dns_suffix(region),
        account=match.group(2) if match else "",
        oidc_provider_arn=arn,
        oidc_issuer=match.group(3) if match else "",
        vpc_id=vpc,
        private_subnet_ids=tuple(subnets),
        cluster_security_group_id=security_group,
        database_instance_class=read.matching(
            "awsDatabaseInstanceClass", _INSTANCE_CLASS, "an RDS instance class such as db.t4g.medium"
        ),
    )


def _azure(read: ConfigReader, database: ExternalDatabase | None, store: ExternalObjectStore | None) -> AzureConfig:
    creates = database is None or store is None
    group = read.text("azureResourceGroup")
    if creates:
        read.matching("azureResourceGroup", _RESOURCE_GROUP, "the name of an existing resource group")
    location = read.text("azureLocation")
    if creates and location not in regions()["azure"]:
        raise read.fail("azureLocation", location or None, "is not an Azure region", "a region name such as westeurope")
    issuer = read.text("azureOidcIssuerUrl")
    if store is None and not _ISSUER.fullmatch(issuer):
        raise read.fail(
            "azureOidcIssuerUrl",
            issuer or None,
            "is not an https URL",
            "the AKS cluster's OIDC issuer (az aks show --query oidcIssuerProfile.issuerUrl)",
        )
    vnet = subscription = prefix = ""
    if database is None:
        vnet = read.text("azureVirtualNetworkId")
        match = _VNET_ID.fullmatch(vnet)
        if not match:
            raise read.fail(
                "azureVirtualNetworkId",
                vnet or None,
                "is not a virtual network resource id",
                "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>",
            )
        subscription = match.group(1)
        prefix = read.text("azureDatabaseSubnetPrefix")
        try:
            network = ipaddress.ip_network(prefix, strict=True)
        except ValueError:
            network = None
        if network is None or network.version != 4 or network.prefixlen > 28:
            raise read.fail(
                "azureDatabaseSubnetPrefix",
                prefix or None,
                "is not a free IPv4 range for the database",
                "a CIDR of /28 or larger inside the virtual network, such as 10.240.8.0/28",
            )
    sku = read.matching(
        "azureDatabaseSku",
        _AZURE_SKU,
        "a MySQL flexible server SKU of the B (Burstable), D (General Purpose) or E (Memory Optimized)"
        " series, such as Standard_D2ads_v5",
    )
    tier = AZURE_DATABASE_TIERS[sku[len("Standard_")]]
    high_availability = read.flag("azureHighAvailability")
    if database is None:
        _check_azure_database(read, location, sku, tier, high_availability)
    subnets: list[str] = []
    if store is None:
        subnets = read.array("azureClusterSubnetIds")
        if not subnets:
            raise read.fail(
                "azureClusterSubnetIds",
                subnets,
                "is required: the storage account admits only these networks",
                "the resource ids of the AKS cluster's node subnets, each with the Microsoft.Storage"
                " service endpoint (az aks show --query 'agentPoolProfiles[].vnetSubnetId')",
            )
        for subnet in subnets:
            if not _SUBNET_ID.fullmatch(subnet):
                raise read.fail(
                    "azureClusterSubnetIds",
                    subnet,
                    "is not a subnet resource id",
                    "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks"
                    "/<network>/subnets/<subnet>",
                )
    return AzureConfig(
        resource_group=group,
        location=location,
        oidc_issuer_url=issuer,
        virtual_network_id=vnet,
        subscription_id=subscription,
        database_subnet_prefix=prefix,
        database_sku=sku,
        database_tier=tier,
        high_availability=high_availability,
        storage_sku="Standard_ZRS" if location in regions()["azure-zone-redundant-storage"] else "Standard_LRS",
        cluster_subnet_ids=tuple(subnets),
    )


def _check_azure_database(read: ConfigReader, location: str, sku: str, tier: str, high_availability: bool) -> None:
    """The server the azure distribution creates must exist in `location` with these settings."""
    if location not in regions()["azure-mysql"]:
        raise read.fail(
            "azureLocation",
            location,
            "has no Azure Database for MySQL flexible server",
            "a location that offers it (inputs/regions.yaml, azure-mysql), or an existing server (databaseHost)",
        )
    if high_availability and tier == "Burstable":
        raise read.fail(
            "azureHighAvailability",
            True,
            f"is not offered with the Burstable SKU {sku}",
            "false, or a D or E series azureDatabaseSku",
        )
    if high_availability and location not in regions()["azure-mysql-zone-redundant-ha"]:
        raise read.fail(
            "azureHighAvailability",
            True,
            f"asks for zone-redundant high availability, which {location} does not offer",
            "false, or a location that offers it (inputs/regions.yaml, azure-mysql-zone-redundant-ha)",
        )


def parse(distribution: Distribution, read: ConfigReader) -> BackingConfig:
    """The distribution settings of a stack, or an InputError naming the key."""
    region = read.provider_text("aws:region") if distribution is Distribution.AWS else ""
    database = _external_database(read)
    store = _external_object_store(read, distribution, region)
    if distribution is Distribution.AWS:
        return BackingConfig(database=database, object_store=store, aws=_aws(read, database, store))
    if distribution is Distribution.AZURE:
        return BackingConfig(database=database, object_store=store, azure=_azure(read, database, store))
    return BackingConfig(database=database, object_store=store)
