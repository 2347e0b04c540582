"""aws distribution settings: the region and its partition, the EKS cluster's OIDC provider and
the network the database goes into."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inputs.external import ExternalDatabase, ExternalObjectStore
from inputs.reader import ConfigReader
from inputs.regions import regions

_OIDC_ARN = re.compile(
    r"arn:(aws|aws-us-gov|aws-cn):iam::(\d{12}):oidc-provider/(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/id/[A-Za-z0-9]+)"
)
_VPC = re.compile(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?")
_SUBNET = re.compile(r"subnet-[0-9a-f]{8}([0-9a-f]{9})?")
_SECURITY_GROUP = re.compile(r"sg-[0-9a-f]{8}([0-9a-f]{9})?")
_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9]+\.[a-z0-9]+")


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


def aws_partitions() -> dict[str, str]:
    """Each AWS region a stack may name, with its partition."""
    return {r: partition for partition, names in regions()["aws"].items() for r in names}


def aws_dns_suffix(region: str) -> str:
    """The endpoint domain of `region`'s partition (amazonaws.com if the region is unknown: the
    region check names the real problem)."""
    return regions()["aws-dns-suffix"][aws_partitions().get(region, "aws")]


def parse(read: ConfigReader, database: ExternalDatabase | None, store: ExternalObjectStore | None) -> AwsConfig:
    """The aws settings: what the stack brings (`database`, `store`) decides which are required."""
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
