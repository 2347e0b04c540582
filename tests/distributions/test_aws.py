"""aws: S3, RDS for MySQL 8.4 and IRSA, asserted on the registered resources' inputs."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conftest import team
from tools.evaluate import is_secret

NS = "kubeflow"
TRACKING = "kubeflow-mlflow"
ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
AWS = {
    "distribution": "aws",
    "aws:region": "eu-west-1",
    "awsOidcProviderArn": ARN,
    "awsVpcId": "vpc-0abc1234def567890",
    "awsPrivateSubnetIds": '["subnet-0aaa1111bbb222333", "subnet-0ccc4444ddd555666"]',
    "awsClusterSecurityGroupId": "sg-0abc1234def567890",
}


@pytest.fixture(scope="module")
def aws_platform(tmp_path_factory):
    from tests.conftest import Platform, write_profiles
    from tools.evaluate import run_platform

    folder = write_profiles(tmp_path_factory.mktemp("p"), {"a.yaml": team("alpha"), "b.yaml": team("beta")})
    config = {(k if ":" in k else f"mlplatform:{k}"): v for k, v in {**AWS, "profilesDir": str(folder)}.items()}
    return Platform(run_platform(config))


def one(platform, type_suffix, name=None):
    found = [r for r in platform.registrations if r.type.endswith(type_suffix) and (name is None or r.name == name)]
    assert len(found) == 1, (type_suffix, name, [r.name for r in found])
    return found[0]


def test_bucket(aws_platform):
    bucket = one(aws_platform, "s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "mlplatform-123456789012-eu-west-1-test"
    assert bucket.inputs["forceDestroy"] is False
    assert bucket.protect and bucket.retain_on_delete
    assert (
        one(aws_platform, "bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    )
    (rule,) = one(
        aws_platform, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    block = one(aws_platform, "bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    policy = json.loads(one(aws_platform, "bucketPolicy:BucketPolicy").inputs["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (lifecycle,) = one(aws_platform, "bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    assert lifecycle["status"] == "Enabled" and lifecycle["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    assert (
        one(aws_platform, "bucketOwnershipControls:BucketOwnershipControls").inputs["rule"]["objectOwnership"]
        == "BucketOwnerEnforced"
    )


def test_the_bucket_keeps_its_protections_when_pulumi_lets_go_of_it(aws_platform):
    """A destroy, or switching to a bucket the stack brings, must not strip the retained bucket's
    versioning, encryption, public-access block, TLS-only policy, ownership or lifecycle rules."""
    settings = [
        r
        for r in aws_platform.registrations
        if r.type.startswith("aws:s3/") and r.type != "aws:s3/bucket:Bucket" and r.custom
    ]
    assert len(settings) == 6
    for r in settings:
        kept = r.retain_on_delete or r.inputs.get("skipDestroy") is True
        assert kept, f"{r.type} would be deleted from the retained bucket"
    assert one(aws_platform, "bucketPublicAccessBlock:BucketPublicAccessBlock").inputs["skipDestroy"] is True


def test_database(aws_platform):
    db = one(aws_platform, "rds/instance:Instance")
    i = db.inputs
    assert (i["engine"], i["engineVersion"]) == ("mysql", "8.4")
    assert i["storageEncrypted"] is True and i["publiclyAccessible"] is False and i["deletionProtection"] is True
    assert i["backupRetentionPeriod"] >= 7 and i["skipFinalSnapshot"] is False and i["finalSnapshotIdentifier"]
    assert is_secret(i["password"])
    assert db.protect and db.retain_on_delete
    subnets = one(aws_platform, "rds/subnetGroup:SubnetGroup").inputs["subnetIds"]
    assert subnets == ["subnet-0aaa1111bbb222333", "subnet-0ccc4444ddd555666"]
    params = {
        p["name"]: p["value"] for p in one(aws_platform, "rds/parameterGroup:ParameterGroup").inputs["parameters"]
    }
    assert params["mysql_native_password"] == "ON"
    ingress = [
        r for r in aws_platform.registrations if r.type.endswith("securityGroupIngressRule:SecurityGroupIngressRule")
    ]
    assert [(r.inputs["fromPort"], r.inputs["toPort"], r.inputs["referencedSecurityGroupId"]) for r in ingress] == [
        (3306, 3306, "sg-0abc1234def567890")
    ]
    assert "cidrIpv4" not in ingress[0].inputs
    admin = aws_platform.get("Secret", "mysql-admin", NS).object["stringData"]
    assert admin["host"].endswith(".mock.rds.amazonaws.com") and admin["username"] == "mlplatform"


def test_what_the_database_needs_is_retained_with_it(aws_platform):
    """The retained instance uses its security group, ingress rule, subnet and parameter groups:
    deleting them on destroy fails (in use) or cuts the kept database off."""
    for type_suffix in (
        "ec2/securityGroup:SecurityGroup",
        "vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "rds/subnetGroup:SubnetGroup",
        "rds/parameterGroup:ParameterGroup",
    ):
        assert one(aws_platform, type_suffix).retain_on_delete, type_suffix


def trust(role):
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Federated": ARN} and statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]["StringEquals"]
    assert condition[f"{ISSUER}:aud"] == "sts.amazonaws.com"
    return condition[f"{ISSUER}:sub"]


def test_identities_instead_of_keys(aws_platform):
    roles = {r.name: r for r in aws_platform.registrations if r.type == "aws:iam/role:Role"}
    assert trust(roles["mlplatform-aws-platform"]) == [
        f"system:serviceaccount:{NS}:ml-pipeline",
        f"system:serviceaccount:{NS}:ml-pipeline-ui",
    ]
    assert trust(roles["mlplatform-aws-team-alpha"]) == [
        "system:serviceaccount:alpha:default-editor",
        "system:serviceaccount:alpha:default-serving",
        "system:serviceaccount:alpha:ml-pipeline-ui-artifact",
        f"system:serviceaccount:{TRACKING}:mlflow-alpha",
    ]
    policies = {
        r.name: json.loads(r.inputs["policy"])
        for r in aws_platform.registrations
        if r.type == "aws:iam/rolePolicy:RolePolicy"
    }
    alpha = policies["mlplatform-aws-team-alpha"]["Statement"]
    objects = next(s for s in alpha if "s3:PutObject" in s["Action"])
    assert objects["Resource"] == "arn:aws:s3:::mlplatform-123456789012-eu-west-1-test/private-artifacts/alpha/*"
    listing = next(s for s in alpha if s["Action"] == ["s3:ListBucket"])
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["private-artifacts/alpha/*"]}}
    assert not [s for s in aws_platform.of_kind("Secret") if s.metadata["name"] == "object-store-credentials"]
    role_of = {
        (sa.metadata["namespace"], sa.metadata["name"]): (sa.metadata.get("annotations") or {}).get(
            "eks.amazonaws.com/role-arn"
        )
        for sa in aws_platform.of_kind("ServiceAccount")
    }
    assert role_of[("alpha", "default-editor")].endswith("mlplatform-aws-team-alpha")
    # The artifact server reads the team's artifacts with the team's role (launcher `fromEnv`):
    # no Kubernetes token, no Secret to read.
    assert role_of[("alpha", "ml-pipeline-ui-artifact")].endswith("mlplatform-aws-team-alpha")
    artifact_pod = aws_platform.get("Deployment", "ml-pipeline-ui-artifact", "alpha").object["spec"]["template"]
    assert artifact_pod["spec"]["serviceAccountName"] == "ml-pipeline-ui-artifact"
    assert artifact_pod["spec"]["automountServiceAccountToken"] is False
    assert not aws_platform.of_kind("Role", "alpha")
    assert role_of[(TRACKING, "mlflow-alpha")].endswith("mlplatform-aws-team-alpha")
    # KServe's storage initializer: an IRSA-annotated account switches it to the web-identity token
    assert role_of[("alpha", "default-serving")].endswith("mlplatform-aws-team-alpha")
    assert role_of[(NS, "ml-pipeline")].endswith("mlplatform-aws-platform")
    assert role_of[(NS, "ml-pipeline-ui")].endswith("mlplatform-aws-platform")
    assert role_of[(NS, "ml-pipeline-persistenceagent")] is None


def test_long_team_names_get_role_names_within_the_iam_limit(evaluate):
    """Pulumi auto-names a role `<resource name>-<7 random>`: 64 characters at most for IAM, so a
    team of 37+ characters needs an explicit name; shorter teams keep their auto-names (an
    explicit name would replace every existing role)."""
    long_a, long_b = "a" * 40 + "-vision", "a" * 40 + "-speech"
    result = evaluate({"a.yaml": team(long_a), "b.yaml": team(long_b), "c.yaml": team("alpha")}, **AWS)
    roles = {r.name: r.inputs for r in result.registrations if r.type == "aws:iam/role:Role"}
    named = [roles[f"mlplatform-aws-team-{t}"]["name"] for t in (long_a, long_b)]
    assert all(len(n) <= 64 and re.fullmatch(r"[\w+=,.@-]+", n) for n in named), named
    assert len(set(named)) == 2
    assert "name" not in roles["mlplatform-aws-team-alpha"] and "name" not in roles["mlplatform-aws-platform"]


@pytest.mark.parametrize("stack", ["prod--eu", "prod_-_eu", "-edge-", "x" * 51 + "-y" * 10])
def test_database_identifiers_follow_rds_rules_for_any_stack_name(stack):
    """RDS identifiers: a letter first, then letters, digits and single hyphens, no hyphen last."""
    from tests.conftest import Platform
    from tools.evaluate import run_platform

    config = {(k if ":" in k else f"mlplatform:{k}"): v for k, v in AWS.items()}
    db = one(Platform(run_platform(config, stack=stack)), "rds/instance:Instance").inputs
    rule = re.compile(r"[a-z](-?[a-z0-9])*")
    assert len(db["identifier"]) <= 63 and rule.fullmatch(db["identifier"]), db["identifier"]
    assert rule.fullmatch(db["finalSnapshotIdentifier"]), db["finalSnapshotIdentifier"]


@pytest.mark.parametrize("stack", ["test", "prod", "ml.platform-eu_1", "team-" + "x" * 70])
def test_database_identifiers_that_were_valid_do_not_change(stack):
    """The identifier replaces the database when it changes: valid ones stay exactly as they were."""
    from distributions.aws_policies import _slug, database_identifier

    assert database_identifier(stack) == f"mlplatform-{_slug(stack)}"[:63]
    assert database_identifier(stack, "-final", 255) == f"mlplatform-{_slug(stack)}-final"[:255]


def test_china_uses_its_own_endpoint_domain(evaluate):
    arn = "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/ABCDEF0123456789"
    result = evaluate({"a.yaml": team("alpha")}, **{**AWS, "aws:region": "cn-north-1", "awsOidcProviderArn": arn})
    (api,) = result.get("Deployment", "ml-pipeline", NS).object["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert env["OBJECTSTORECONFIG_HOST"] == "s3.cn-north-1.amazonaws.com.cn"
    (deny,) = json.loads(one(result, "bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    assert all(arn.startswith("arn:aws-cn:s3:::") for arn in deny["Resource"])


def test_components_use_s3_with_identity(aws_platform):
    launcher = aws_platform.get("ConfigMap", "kfp-launcher", "alpha").object["data"]
    assert (
        launcher["defaultPipelineRoot"]
        == "s3://mlplatform-123456789012-eu-west-1-test/private-artifacts/alpha/v2/artifacts"
    )
    provider = yaml.safe_load(launcher["providers"])["s3"]["default"]
    assert provider["credentials"] == {"fromEnv": True} and provider["forcePathStyle"] is False
    repo = yaml.safe_load(
        aws_platform.get("ConfigMap", "artifact-repositories", "alpha").object["data"]["default-namespaced"]
    )
    assert repo["s3"]["useSDKCreds"] is True and "accessKeySecret" not in repo["s3"]
    (api,) = aws_platform.get("Deployment", "ml-pipeline", NS).object["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert env["OBJECTSTORECONFIG_HOST"] == "s3.eu-west-1.amazonaws.com" and env["OBJECTSTORECONFIG_SECURE"] == "true"
    assert "OBJECTSTORECONFIG_ACCESSKEY" not in env
    (mlflow,) = aws_platform.get("Deployment", "mlflow-alpha", TRACKING).object["spec"]["template"]["spec"][
        "containers"
    ]
    assert not {"AWS_ACCESS_KEY_ID", "MLFLOW_S3_ENDPOINT_URL"} & {e["name"] for e in mlflow["env"]}
    assert not aws_platform.of_kind("StatefulSet", NS)  # no in-cluster database or store


def test_changes_do_not_touch_what_would_replace_the_bucket_or_database(evaluate, aws_platform):
    changed = evaluate(
        {"c.yaml": team("gamma")},
        **{**AWS, "size": "large", "awsDatabaseInstanceClass": "db.r6g.large", "tracking": "false"},
    )
    for type_suffix, fields in (
        ("s3/bucket:Bucket", ("bucket", "forceDestroy")),
        (
            "rds/instance:Instance",
            ("identifier", "engine", "username", "storageEncrypted", "dbSubnetGroupName", "availabilityZone"),
        ),
    ):
        before, after = one(aws_platform, type_suffix), one(changed, type_suffix)
        assert before.urn == after.urn
        assert {f: before.inputs.get(f) for f in fields} == {f: after.inputs.get(f) for f in fields}
    assert one(changed, "rds/instance:Instance").inputs["instanceClass"] == "db.r6g.large"  # an in-place change


def test_bring_your_own_services_on_aws(evaluate):
    """The Kubernetes side only: an existing database and bucket with keys, nothing created in AWS."""
    result = evaluate(
        {"a.yaml": team("alpha")},
        secret=("databaseAdminPassword", "objectStoreAccessKey", "objectStoreSecretKey"),
        **{
            "distribution": "aws",
            "aws:region": "eu-west-1",
            "databaseHost": "db.example.internal",
            "databaseAdminUser": "admin",
            "databaseAdminPassword": "pw",
            "objectStoreBucket": "existing-bucket",
            "objectStoreAccessKey": "AK",
            "objectStoreSecretKey": "SK",
        },
    )
    assert not [r for r in result.registrations if r.type.startswith("aws:")]
    launcher = result.get("ConfigMap", "kfp-launcher", "alpha").object["data"]
    assert launcher["defaultPipelineRoot"].startswith("s3://existing-bucket/private-artifacts/alpha/")
    assert yaml.safe_load(launcher["providers"])["s3"]["default"]["endpoint"] == "s3.eu-west-1.amazonaws.com"
