"""azure: MySQL flexible server, Storage Account behind the S3 gateway, workload identities."""

from __future__ import annotations

import json

import pytest

from tests.conftest import team
from tests.inputs.test_backing import AZURE
from tools.evaluate import is_secret

NS = "kubeflow"
TRACKING = "kubeflow-mlflow"


@pytest.fixture(scope="module")
def azure_platform(tmp_path_factory):
    from tests.conftest import Platform, write_profiles
    from tools.evaluate import run_platform

    folder = write_profiles(tmp_path_factory.mktemp("p"), {"a.yaml": team("alpha"), "b.yaml": team("beta")})
    config = {(k if ":" in k else f"mlplatform:{k}"): v for k, v in {**AZURE, "profilesDir": str(folder)}.items()}
    return Platform(run_platform(config))


def of_type(platform, token):
    return [r for r in platform.registrations if r.type == token]


def one(platform, token):
    (found,) = of_type(platform, token)
    return found


def test_storage_account(azure_platform):
    account = one(azure_platform, "azure-native:storage:StorageAccount")
    i = account.inputs
    assert i["enableHttpsTrafficOnly"] is True and i["minimumTlsVersion"] == "TLS1_2"
    assert i["allowBlobPublicAccess"] is False and i["kind"] == "StorageV2"
    assert account.protect and account.retain_on_delete
    assert len(i["accountName"]) <= 24 and i["accountName"].isalnum()
    service = one(azure_platform, "azure-native:storage:BlobServiceProperties").inputs
    assert service["isVersioningEnabled"] is True and service["deleteRetentionPolicy"]["enabled"] is True
    containers = {c.inputs["containerName"]: c for c in of_type(azure_platform, "azure-native:storage:BlobContainer")}
    assert set(containers) == {"mlpipeline", "teams"}
    assert all(c.inputs["publicAccess"] == "None" and c.protect for c in containers.values())


def test_database(azure_platform):
    server = one(azure_platform, "azure-native:dbformysql:Server")
    i = server.inputs
    assert i["version"] == "8.4" and i["network"]["publicNetworkAccess"] == "Disabled"
    assert i["backup"]["backupRetentionDays"] >= 7 and i["highAvailability"]["mode"] == "Disabled"
    assert is_secret(i["administratorLoginPassword"]) and server.protect and server.retain_on_delete
    subnet = one(azure_platform, "azure-native:network:Subnet").inputs
    assert subnet["delegations"] == [{"name": "mysql", "serviceName": "Microsoft.DBforMySQL/flexibleServers"}]
    assert subnet["addressPrefix"] == "10.240.8.0/28" and subnet["virtualNetworkName"] == "aks-vnet"
    zone = one(azure_platform, "azure-native:privatedns:PrivateZone").inputs
    assert zone["privateZoneName"].endswith(".private.mysql.database.azure.com")
    admin = azure_platform.get("Secret", "mysql-admin", NS).object["stringData"]
    assert admin["host"].endswith(".mysql.database.azure.com")


def test_what_the_server_and_account_need_is_retained_with_them(azure_platform):
    """The retained server keeps its delegated subnet, private DNS zone and link and its
    parameters; the retained account keeps its versioning and soft delete."""
    for token in (
        "azure-native:network:Subnet",
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
        "azure-native:storage:BlobServiceProperties",
    ):
        assert one(azure_platform, token).retain_on_delete, token
    parameters = of_type(azure_platform, "azure-native:dbformysql:Configuration")
    assert len(parameters) == 2 and all(c.retain_on_delete for c in parameters)


def test_high_availability_is_a_setting(evaluate):
    result = evaluate({"a.yaml": team("alpha")}, **{**AZURE, "azureHighAvailability": "true"})
    assert one(result, "azure-native:dbformysql:Server").inputs["highAvailability"]["mode"] == "ZoneRedundant"


def test_s3_gateway_writes_through_to_blob(azure_platform):
    sts = azure_platform.get("StatefulSet", "seaweedfs", NS).object["spec"]["template"]["spec"]
    names = [c["name"] for c in sts["containers"]]
    assert names == ["seaweedfs", "remote-sync"]
    assert sts["containers"][1]["args"] == ["filer.remote.sync", "-filer=127.0.0.1:8888", "-dir=/buckets/mlpipeline"]
    script = sts["containers"][0]["lifecycle"]["postStart"]["exec"]["command"][2]
    assert "remote.mount -dir=/buckets/mlpipeline -remote=blob/mlpipeline" in script
    config = azure_platform.get("Secret", "seaweedfs-s3-config", NS)
    assert is_secret(config.inputs["stringData"])
    assert {"s3.json", "azure-account", "azure-key"} <= set(config.object["stringData"])


def test_team_identities(azure_platform):
    identities = {r.name: r for r in of_type(azure_platform, "azure-native:managedidentity:UserAssignedIdentity")}
    assert set(identities) == {"mlplatform-azure-team-alpha", "mlplatform-azure-team-beta"}
    credentials = of_type(azure_platform, "azure-native:managedidentity:FederatedIdentityCredential")
    subjects = sorted(c.inputs["subject"] for c in credentials if "alpha" in c.name)
    assert subjects == [
        "system:serviceaccount:alpha:default-editor",
        "system:serviceaccount:alpha:default-serving",
        "system:serviceaccount:alpha:ml-pipeline-ui-artifact",
        f"system:serviceaccount:{TRACKING}:mlflow-alpha",
    ]
    assert all(c.inputs["audiences"] == ["api://AzureADTokenExchange"] for c in credentials)
    assert all(c.inputs["issuer"] == AZURE["azureOidcIssuerUrl"] for c in credentials)
    alpha_credentials = [c for c in credentials if "alpha" in c.name]
    assert any(alpha_credentials[0].urn in c.dependencies for c in alpha_credentials[1:])  # one write at a time
    assignments = {r.name: r.inputs for r in of_type(azure_platform, "azure-native:authorization:RoleAssignment")}
    alpha = assignments["mlplatform-azure-team-alpha"]
    assert alpha["principalType"] == "ServicePrincipal" and alpha["conditionVersion"] == "2.0"
    assert "StringLike 'alpha/*'" in alpha["condition"] and "StringStartsWith 'alpha/'" in alpha["condition"]
    assert "'beta" not in alpha["condition"]
    editor = azure_platform.get("ServiceAccount", "default-editor", "alpha").metadata["annotations"]
    assert editor["azure.workload.identity/client-id"] == "client-mlplatform-azure-team-alpha"


def test_team_roles_carry_blob_data_actions_only(azure_platform):
    """The built-in Storage Blob Data Contributor also allows deleting the container; a condition
    narrows only data actions, so every team could have deleted the whole `teams` container."""
    role = one(azure_platform, "azure-native:authorization:RoleDefinition")
    (permission,) = role.inputs["permissions"]
    assert permission.get("actions", []) == [] and not permission.get("notActions")
    assert sorted(permission["dataActions"]) == sorted(
        f"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{a}"
        for a in ("read", "write", "add/action", "delete")
    )
    assert role.inputs["roleType"] == "CustomRole"
    assert role.inputs["assignableScopes"] == [role.inputs["scope"]]
    assert role.inputs["scope"].endswith("/resourceGroups/ml-platform")
    for assignment in of_type(azure_platform, "azure-native:authorization:RoleAssignment"):
        assert role.urn in assignment.dependencies
        assert "ba92f5b4-2d11-453d-a403-e96b0029c9fe" not in assignment.inputs["roleDefinitionId"]


def test_storage_admits_only_the_cluster_subnets(azure_platform):
    account = one(azure_platform, "azure-native:storage:StorageAccount")
    rules = account.inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny" and rules["bypass"] == "None"
    assert [r["virtualNetworkResourceId"] for r in rules["virtualNetworkRules"]] == [
        "/subscriptions/0f0e0d0c-0b0a-0908-0706-050403020100/resourceGroups/net/providers"
        "/Microsoft.Network/virtualNetworks/aks-vnet/subnets/nodes"
    ]
    assert all(r["action"] == "Allow" for r in rules["virtualNetworkRules"])
    assert not rules.get("ipRules")


def test_locations_without_zones_get_locally_redundant_storage(evaluate, azure_platform):
    zoned = one(azure_platform, "azure-native:storage:StorageAccount")
    assert zoned.inputs["sku"]["name"] == "Standard_ZRS"
    result = evaluate({"a.yaml": team("alpha")}, **{**AZURE, "azureLocation": "westus"})
    account = one(result, "azure-native:storage:StorageAccount")
    assert account.inputs["sku"]["name"] == "Standard_LRS"
    assert "sku" in account.ignore_changes  # Azure converts redundancy only by a migration, not an update


@pytest.mark.parametrize(
    ("sku", "tier"),
    [("Standard_B2ms", "Burstable"), ("Standard_D4ads_v5", "GeneralPurpose"), ("Standard_E4ads_v5", "MemoryOptimized")],
)
def test_database_tier_matches_the_sku(evaluate, sku, tier):
    result = evaluate({"a.yaml": team("alpha")}, **{**AZURE, "azureDatabaseSku": sku})
    assert one(result, "azure-native:dbformysql:Server").inputs["sku"] == {"name": sku, "tier": tier}


def test_database_turns_on_native_passwords_for_ml_metadata(azure_platform):
    configurations = {
        c.inputs["configurationName"]: c for c in of_type(azure_platform, "azure-native:dbformysql:Configuration")
    }
    native = configurations["mysql_native_password"]
    assert native.inputs["value"] == "ON" and native.inputs["source"] == "user-override"
    assert configurations["require_secure_transport"].urn in native.dependencies  # one write at a time
    setup_jobs = [j for j in azure_platform.of_kind("Job", NS) if j.metadata["name"].endswith("-db-setup")]
    assert setup_jobs and all(native.urn in azure_platform.by_urn(j.urn).dependencies for j in setup_jobs)


def test_no_account_key_outside_the_gateway_secret(azure_platform):
    key = azure_platform.get("Secret", "seaweedfs-s3-config", NS).object["stringData"]["azure-key"]
    assert len(key) > 20
    holders = [r.urn for r in azure_platform.registrations if key in json.dumps(r.object)]
    assert holders == [azure_platform.get("Secret", "seaweedfs-s3-config", NS).urn]


def test_changes_do_not_touch_what_would_replace_stateful_resources(evaluate, azure_platform):
    changed = evaluate(
        {"c.yaml": team("gamma")},
        **{**AZURE, "size": "large", "azureDatabaseSku": "Standard_D4ads_v5", "azureHighAvailability": "true"},
    )
    for token, fields in (
        ("azure-native:storage:StorageAccount", ("accountName", "resourceGroupName", "location", "kind")),
        (
            "azure-native:dbformysql:Server",
            ("serverName", "resourceGroupName", "location", "administratorLogin", "version"),
        ),
    ):
        before, after = one(azure_platform, token), one(changed, token)
        assert before.urn == after.urn
        assert {f: before.inputs.get(f) for f in fields} == {f: after.inputs.get(f) for f in fields}


def test_bring_your_own_services_on_azure(evaluate):
    result = evaluate(
        {"a.yaml": team("alpha")},
        secret=("databaseAdminPassword", "objectStoreAccessKey", "objectStoreSecretKey"),
        **{
            "distribution": "azure",
            "databaseHost": "db.example.internal",
            "databaseAdminUser": "admin",
            "databaseAdminPassword": "pw",
            "objectStoreBucket": "existing",
            "objectStoreEndpoint": "s3.example:443",
            "objectStoreAccessKey": "AK",
            "objectStoreSecretKey": "SK",
        },
    )
    assert not [r for r in result.registrations if r.type.startswith("azure-native:")]
    assert (
        result.get("ConfigMap", "kfp-launcher", "alpha")
        .object["data"]["defaultPipelineRoot"]
        .startswith("minio://existing/")
    )
