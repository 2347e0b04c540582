"""azure distribution settings: the resource group and location, the AKS cluster's OIDC issuer,
the database's network and SKU, and the subnets the storage account admits."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from inputs.external import ExternalDatabase, ExternalObjectStore
from inputs.reader import ConfigReader
from inputs.regions import regions

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


def parse(read: ConfigReader, database: ExternalDatabase | None, store: ExternalObjectStore | None) -> AzureConfig:
    """The azure settings: what the stack brings (`database`, `store`) decides which are required."""
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
