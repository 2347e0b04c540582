"""Distribution settings: one clear message per bad key, before anything is registered."""

from __future__ import annotations

import pytest

from inputs import settings
from inputs.errors import InputError
from tests.distributions.test_aws import AWS

SECRETS = frozenset(
    {"mlplatform:databaseAdminPassword", "mlplatform:objectStoreAccessKey", "mlplatform:objectStoreSecretKey"}
)
AZURE = {
    "distribution": "azure",
    "azureResourceGroup": "ml-platform",
    "azureLocation": "westeurope",
    "azureOidcIssuerUrl": "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/1111/",
    "azureVirtualNetworkId": "/subscriptions/0f0e0d0c-0b0a-0908-0706-050403020100/resourceGroups/net/providers"
    "/Microsoft.Network/virtualNetworks/aks-vnet",
    "azureDatabaseSubnetPrefix": "10.240.8.0/28",
    "azureClusterSubnetIds": '["/subscriptions/0f0e0d0c-0b0a-0908-0706-050403020100/resourceGroups/net/providers'
    '/Microsoft.Network/virtualNetworks/aks-vnet/subnets/nodes"]',
}


def load(config: dict, secret: frozenset[str] = SECRETS):
    full = {(k if ":" in k else f"mlplatform:{k}"): v for k, v in config.items()}
    return settings.load(full, "Pulumi.prod.yaml", secret_keys=secret)


def error(config: dict, **kw) -> str:
    with pytest.raises(InputError) as caught:
        load(config, **kw)
    return str(caught.value)


def test_valid_aws():
    aws = load(AWS).backing.aws
    assert (aws.region, aws.partition, aws.account) == ("eu-west-1", "aws", "123456789012")
    assert aws.oidc_issuer == "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
    assert aws.private_subnet_ids == ("subnet-0aaa1111bbb222333", "subnet-0ccc4444ddd555666")


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"aws:region": "eu-middle-9"}, "aws:region", "is not an AWS region"),
        ({"aws:region": ""}, "aws:region", "is not an AWS region"),
        (
            {"awsOidcProviderArn": "arn:aws:iam::123:oidc-provider/x"},
            "mlplatform:awsOidcProviderArn",
            "is not the ARN of an EKS cluster's OIDC provider",
        ),
        (
            {"awsPrivateSubnetIds": '["subnet-0aaa1111bbb222333"]'},
            "mlplatform:awsPrivateSubnetIds",
            "needs at least two subnets",
        ),
        ({"awsPrivateSubnetIds": "[]"}, "mlplatform:awsPrivateSubnetIds", "needs at least two subnets"),
        (
            {"awsPrivateSubnetIds": '["subnet-0aaa1111bbb222333", "sub-1"]'},
            "mlplatform:awsPrivateSubnetIds",
            "is not a subnet id",
        ),
        ({"awsVpcId": "vpc-xyz"}, "mlplatform:awsVpcId", "is not valid"),
        ({"awsClusterSecurityGroupId": ""}, "mlplatform:awsClusterSecurityGroupId", "is not valid"),
        ({"awsDatabaseInstanceClass": "t3.large"}, "mlplatform:awsDatabaseInstanceClass", "is not valid"),
        ({"aws:region": "us-gov-west-1"}, "mlplatform:awsOidcProviderArn", "is in partition aws, not aws-us-gov"),
    ],
)
def test_bad_aws_settings(change, key, problem):
    message = error({**AWS, **change})
    assert message.startswith(f"Pulumi.prod.yaml: key '{key}': ") and problem in message and "; allowed: " in message


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [("eu-west-1", "s3.eu-west-1.amazonaws.com"), ("cn-northwest-1", "s3.cn-northwest-1.amazonaws.com.cn")],
)
def test_a_given_aws_bucket_defaults_to_its_partitions_endpoint(region, endpoint):
    given = load(
        {
            "distribution": "aws",
            "aws:region": region,
            "databaseHost": "db.internal",
            "databaseAdminUser": "admin",
            "databaseAdminPassword": "pw",
            "objectStoreBucket": "artifacts",
            "objectStoreAccessKey": "AK",
            "objectStoreSecretKey": "SK",
        }
    ).backing
    assert given.object_store.endpoint == endpoint


def test_aws_with_own_database_needs_no_network():
    config = {k: v for k, v in AWS.items() if k not in ("awsVpcId", "awsPrivateSubnetIds", "awsClusterSecurityGroupId")}
    given = load(
        {**config, "databaseHost": "db.internal", "databaseAdminUser": "admin", "databaseAdminPassword": "pw"}
    ).backing
    assert given.database.host == "db.internal" and given.aws.vpc_id == ""


def test_valid_azure():
    azure = load(AZURE).backing.azure
    assert azure.subscription_id == "0f0e0d0c-0b0a-0908-0706-050403020100" and azure.high_availability is False
    assert azure.cluster_subnet_ids == (
        "/subscriptions/0f0e0d0c-0b0a-0908-0706-050403020100/resourceGroups/net/providers"
        "/Microsoft.Network/virtualNetworks/aks-vnet/subnets/nodes",
    )


@pytest.mark.parametrize(
    ("sku", "tier"),
    [("Standard_B2ms", "Burstable"), ("Standard_D4ads_v5", "GeneralPurpose"), ("Standard_E8ads_v5", "MemoryOptimized")],
)
def test_the_database_tier_follows_the_sku_series(sku, tier):
    assert load({**AZURE, "azureDatabaseSku": sku}).backing.azure.database_tier == tier


@pytest.mark.parametrize(("location", "sku"), [("westeurope", "Standard_ZRS"), ("westus", "Standard_LRS")])
def test_storage_is_zone_redundant_only_where_the_location_has_zones(location, sku):
    assert load({**AZURE, "azureLocation": location}).backing.azure.storage_sku == sku


def test_the_region_tables_name_only_known_locations():
    from inputs.regions import regions

    known = set(regions()["azure"])
    for key in ("azure-zone-redundant-storage", "azure-mysql", "azure-mysql-zone-redundant-ha"):
        assert set(regions()[key]) <= known, key
    assert set(regions()["azure-mysql-zone-redundant-ha"]) <= set(regions()["azure-zone-redundant-storage"])
    assert set(regions()["aws-dns-suffix"]) == set(regions()["aws"])


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"azureLocation": "moon-west"}, "azureLocation", "is not an Azure region"),
        ({"azureOidcIssuerUrl": "http://insecure.example.com/"}, "azureOidcIssuerUrl", "is not an https URL"),
        (
            {"azureVirtualNetworkId": "/subscriptions/x/vnet"},
            "azureVirtualNetworkId",
            "is not a virtual network resource id",
        ),
        ({"azureDatabaseSubnetPrefix": "10.240.8.0/29"}, "azureDatabaseSubnetPrefix", "is not a free IPv4 range"),
        ({"azureDatabaseSubnetPrefix": "10.240.8.1/28"}, "azureDatabaseSubnetPrefix", "is not a free IPv4 range"),
        ({"azureResourceGroup": ""}, "azureResourceGroup", "is not valid"),
        ({"azureDatabaseSku": "D2"}, "azureDatabaseSku", "is not valid"),
        ({"azureDatabaseSku": "Standard_F4s_v2"}, "azureDatabaseSku", "is not valid"),
        (
            {"azureHighAvailability": "true", "azureLocation": "westus"},
            "azureHighAvailability",
            "zone-redundant high availability, which westus does not offer",
        ),
        (
            {"azureHighAvailability": "true", "azureDatabaseSku": "Standard_B2ms"},
            "azureHighAvailability",
            "is not offered with the Burstable SKU Standard_B2ms",
        ),
        ({"azureLocation": "austriaeast"}, "azureLocation", "has no Azure Database for MySQL flexible server"),
        ({"azureClusterSubnetIds": "[]"}, "azureClusterSubnetIds", "is required"),
        ({"azureClusterSubnetIds": '["aks-nodes"]'}, "azureClusterSubnetIds", "is not a subnet resource id"),
    ],
)
def test_bad_azure_settings(change, key, problem):
    message = error({**AZURE, **change})
    assert message.startswith(f"Pulumi.prod.yaml: key 'mlplatform:{key}': ") and problem in message


@pytest.mark.parametrize(
    ("config", "key", "problem"),
    [
        ({"databaseHost": "db.internal"}, "databaseAdminUser", "is not valid"),
        (
            {"databaseHost": "db.internal", "databaseAdminUser": "admin"},
            "databaseAdminPassword",
            "is required with databaseHost",
        ),
        (
            {
                "databaseHost": "db.internal",
                "databaseAdminUser": "admin",
                "databaseAdminPassword": "pw",
                "databasePort": "70000",
            },
            "databasePort",
            "is not a whole number in range",
        ),
        ({"databaseHost": "bad host!", "databaseAdminUser": "admin"}, "databaseHost", "is not valid"),
        ({"objectStoreBucket": "Bad_Bucket"}, "objectStoreBucket", "is not valid"),
        ({"objectStoreBucket": "artifacts"}, "objectStoreEndpoint", "is not valid"),
        (
            {"objectStoreBucket": "artifacts", "objectStoreEndpoint": "minio:9000"},
            "objectStoreAccessKey",
            "is required for a bucket with the vanilla distribution",
        ),
        (
            {"objectStoreBucket": "artifacts", "objectStoreEndpoint": "minio:9000", "objectStoreAccessKey": "AK"},
            "objectStoreSecretKey",
            "is required with the other key",
        ),
    ],
)
def test_bad_bring_your_own_settings(config, key, problem):
    message = error(config)
    assert message.startswith(f"Pulumi.prod.yaml: key 'mlplatform:{key}': ") and problem in message


def test_credentials_must_be_encrypted_in_the_stack_file():
    message = error(
        {"databaseHost": "db.internal", "databaseAdminUser": "admin", "databaseAdminPassword": "hunter2"},
        secret=frozenset(),
    )
    assert message == (
        "Pulumi.prod.yaml: key 'mlplatform:databaseAdminPassword': '[not shown]' is stored in plain text; "
        "allowed: an encrypted value: pulumi config set --secret mlplatform:databaseAdminPassword ..."
    )
    assert "hunter2" not in message
