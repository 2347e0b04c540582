"""Pipelines: Kubeflow Pipelines 2.16 multi-user, the API gateway, and per-team wiring."""

from __future__ import annotations

import json

import yaml

from components.platform import PLATFORM_NAMESPACE
from library.routes import gateway_peer
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE


def env_of(platform, name, namespace=NS):
    (container,) = platform.get("Deployment", name, namespace).object["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}, container


def test_api_server(platform):
    env, container = env_of(platform, "ml-pipeline")
    assert container["image"] == "ghcr.io/kubeflow/kfp-api-server:2.16.0"
    assert env["MULTIUSER"] == "true" and env["KUBEFLOW_USERID_HEADER"] == "kubeflow-userid"
    assert env["DEFAULTPIPELINERUNNERSERVICEACCOUNT"] == "default-editor"
    assert env["V2_DRIVER_IMAGE"] == "ghcr.io/kubeflow/kfp-driver:2.16.0"
    assert env["V2_LAUNCHER_IMAGE"] == "ghcr.io/kubeflow/kfp-launcher:2.16.0"
    assert env["DBCONFIG_PASSWORD"] == {"secretKeyRef": {"name": "ml-pipeline-db", "key": "password"}}
    assert env["OBJECTSTORECONFIG_HOST"] == f"seaweedfs.{NS}.svc.cluster.local"
    assert env["OBJECTSTORECONFIG_PORT"] == "8333" and env["OBJECTSTORECONFIG_SECURE"] == "false"
    assert env["OBJECTSTORECONFIG_ACCESSKEY"] == {
        "secretKeyRef": {"name": "object-store-credentials", "key": "accesskey"}
    }
    assert env["METADATA_GRPC_SERVICE_SERVICE_HOST"] == f"metadata-grpc-service.{NS}.svc.cluster.local"
    assert "ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_HOST" in env  # read at start-up (see template)
    db = platform.get("Secret", "ml-pipeline-db", NS)
    assert is_secret(db.inputs["stringData"]) and db.object["stringData"]["database"] == "mlpipeline"


def test_gateway_strips_the_user_header(platform):
    service = platform.get("Service", "ml-pipeline", NS).object["spec"]
    gateway = platform.get("Deployment", "ml-pipeline-gateway", NS).object["spec"]["template"]
    assert service["selector"].items() <= gateway["metadata"]["labels"].items()
    assert service["selector"]["app.kubernetes.io/name"] == "ml-pipeline-gateway"
    config = yaml.safe_load(platform.get("ConfigMap", "ml-pipeline-gateway", NS).object["data"]["envoy-config.yaml"])
    listeners = config["static_resources"]["listeners"]
    assert {li["address"]["socket_address"]["port_value"] for li in listeners} == {8888, 8887}
    for li in listeners:
        manager = li["filter_chains"][0]["filters"][0]["typed_config"]
        assert manager["route_config"]["request_headers_to_remove"] == ["kubeflow-userid"]
    upstreams = {
        c["name"]: c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
        for c in config["static_resources"]["clusters"]
    }
    assert upstreams["api_grpc"] == {"address": f"ml-pipeline-api-server.{NS}.svc.cluster.local", "port_value": 8887}
    assert "typed_extension_protocol_options" in next(
        c for c in config["static_resources"]["clusters"] if c["name"] == "api_grpc"
    )


def test_only_gateway_and_ui_reach_the_api_server(platform):
    policy = platform.get("NetworkPolicy", "ml-pipeline-api-server", NS).object["spec"]
    gateway, ui = policy["ingress"]
    assert gateway["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ml-pipeline-gateway"}}}]
    assert ui["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ml-pipeline-ui"}}}]
    assert ui["ports"] == [{"port": 8888, "protocol": "TCP"}]
    # The UI forwards its caller's user-id header: only the front door's gateway reaches it.
    ui_policy = platform.get("NetworkPolicy", "ml-pipeline-ui", NS).object["spec"]
    assert ui_policy["policyTypes"] == ["Ingress"]
    assert ui_policy["ingress"] == [{"from": [gateway_peer()], "ports": [{"port": 3000, "protocol": "TCP"}]}]
    env, _ = env_of(platform, "ml-pipeline-ui")
    assert env["ML_PIPELINE_SERVICE_HOST"] == f"ml-pipeline-api-server.{NS}.svc.cluster.local"
    assert env["ENABLE_AUTHZ"] == "true"


def test_controllers_authenticate_with_projected_tokens(platform):
    for name, path in (
        ("ml-pipeline-persistenceagent", "persistenceagent-sa-token"),
        ("ml-pipeline-scheduledworkflow", "scheduledworkflow-sa-token"),
    ):
        pod = platform.get("Deployment", name, NS).object["spec"]["template"]["spec"]
        (source,) = next(v for v in pod["volumes"] if v["name"] == "token")["projected"]["sources"]
        assert source["serviceAccountToken"] == {
            "path": path,
            "audience": "pipelines.kubeflow.org",
            "expirationSeconds": 3600,
        }
        assert pod["serviceAccountName"] == name


def test_roles_aggregate_into_team_roles(platform):
    edit = platform.get("ClusterRole", "kubeflow-pipelines-edit").object
    assert edit["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit"] == "true"
    view = platform.get("ClusterRole", "kubeflow-pipelines-view").object["metadata"]["labels"]
    assert view["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view"] == "true"
    rules = platform.get("ClusterRole", "aggregate-to-kubeflow-pipelines-edit").object["rules"]
    assert any("workflowtaskresults" in r["resources"] for r in rules)
    api = platform.get("ClusterRole", "ml-pipeline").object["rules"]
    assert {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]} in api
    platform.get("CustomResourceDefinition", "scheduledworkflows.kubeflow.org")


def test_team_wiring(platform):
    assert platform.get("Namespace", "nlp").metadata["labels"]["pipelines.kubeflow.org/enabled"] == "true"
    launcher = platform.get("ConfigMap", "kfp-launcher", "nlp").object["data"]
    assert launcher["defaultPipelineRoot"] == "minio://mlpipeline/private-artifacts/nlp/v2/artifacts"
    provider = yaml.safe_load(launcher["providers"])["minio"]["default"]
    assert provider["endpoint"] == f"seaweedfs.{NS}.svc.cluster.local:8333" and provider["disableSSL"] is True
    assert provider["credentials"]["secretRef"] == {
        "secretName": "object-store-credentials",
        "accessKeyKey": "accesskey",
        "secretKeyKey": "secretkey",
    }
    repos = platform.get("ConfigMap", "artifact-repositories", "nlp").object
    assert repos["metadata"]["annotations"]["workflows.argoproj.io/default-artifact-repository"] == "default-namespaced"
    s3 = yaml.safe_load(repos["data"]["default-namespaced"])["s3"]
    assert s3["keyFormat"].startswith("private-artifacts/nlp/{{workflow.name}}/")
    metadata = platform.get("ConfigMap", "metadata-grpc-configmap", "nlp").object["data"]
    assert metadata["METADATA_GRPC_SERVICE_HOST"] == f"metadata-grpc-service.{NS}.svc.cluster.local"
    env, container = env_of(platform, "ml-pipeline-ui-artifact", "nlp")
    assert env["MINIO_ACCESS_KEY"] == {"secretKeyRef": {"name": "object-store-credentials", "key": "accesskey"}}
    assert env["FRONTEND_SERVER_NAMESPACE"] == "nlp"
    platform.get("Service", "ml-pipeline-ui-artifact", "nlp")


def test_every_team_prefix_matches_its_keys(platform):
    """The prefix each team writes to is the one its object-store identity may use."""

    for team in ("vision", "nlp", "forecasting"):
        identity = platform.get("Secret", f"s3-identity-{team}", NS).object["stringData"]["identity.json"]
        scope = json.loads(identity)["actions"][0].split(":", 1)[1]
        root = platform.get("ConfigMap", "kfp-launcher", team).object["data"]["defaultPipelineRoot"]
        key = root.removeprefix("minio://")
        assert key.startswith(scope.removesuffix("*")), (team, key)


def test_artifact_server_reads_exactly_its_team_key_secret(platform):
    """With `fromEnv: false` the artifact server reads the team's keys through the Kubernetes API."""
    pod = platform.get("Deployment", "ml-pipeline-ui-artifact", "nlp").object["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ml-pipeline-ui-artifact"
    assert pod["automountServiceAccountToken"] is True
    platform.get("ServiceAccount", "ml-pipeline-ui-artifact", "nlp")
    launcher = yaml.safe_load(platform.get("ConfigMap", "kfp-launcher", "nlp").object["data"]["providers"])
    credentials = launcher["minio"]["default"]["credentials"]
    assert credentials["fromEnv"] is False
    role = platform.get("Role", "ml-pipeline-ui-artifact", "nlp").object
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": [credentials["secretRef"]["secretName"]],
            "verbs": ["get"],
        }
    ]
    bindings = [
        b.object
        for b in platform.of_kind("RoleBinding", "nlp")
        if {"kind": "ServiceAccount", "name": "ml-pipeline-ui-artifact", "namespace": "nlp"} in b.object["subjects"]
    ]
    assert [b["roleRef"] for b in bindings] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ml-pipeline-ui-artifact"}
    ]


def test_team_viewers_may_see_run_pods_in_the_ui(platform):
    """The UI checks `get viewers` (kubeflow.org) before it shows a pod's logs, details or events."""
    view = platform.get("ClusterRole", "kubeflow-pipelines-view").object
    selector = view["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]
    aggregated = [
        rule
        for role in platform.of_kind("ClusterRole")
        if selector.items() <= role.metadata.get("labels", {}).items()
        for rule in role.object.get("rules", [])
    ]
    assert any(
        "kubeflow.org" in r["apiGroups"] and "viewers" in r["resources"] and "get" in r["verbs"] for r in aggregated
    )
    assert view["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view"] == "true"


def test_a_v1_visualization_request_cannot_stop_the_api_server(platform):
    """The API server exits when VisualizationService.Name/Port are unset (common/config.go), and reads
    them for every v1 visualization request with a namespace."""
    env, _ = env_of(platform, "ml-pipeline")
    assert env["VISUALIZATIONSERVICE_NAME"]
    # Nothing can listen there: no Service exposes port 0, so the request is refused.
    assert env["VISUALIZATIONSERVICE_PORT"] == "0"


def test_only_run_creators_may_set_a_run_label(platform):
    """A Workflow labelled with another team's run id would overwrite that run when reported."""
    policy = platform.get("ValidatingAdmissionPolicy", "pipelines-run-label").object["spec"]
    (rule,) = policy["matchConstraints"]["resourceRules"]
    assert rule["apiGroups"] == ["argoproj.io"] and rule["resources"] == ["workflows"]
    assert set(rule["operations"]) == {"CREATE", "UPDATE"}
    assert policy["failurePolicy"] == "Fail"
    (condition,) = policy["matchConditions"]
    exempt = json.loads(condition["expression"].split(" in ", 1)[1].rstrip(")"))
    assert sorted(exempt) == [
        f"system:serviceaccount:{NS}:ml-pipeline",
        f"system:serviceaccount:{NS}:ml-pipeline-scheduledworkflow",
    ]
    # Those are the accounts the API server and the scheduled-workflow controller run as.
    for name in ("ml-pipeline", "ml-pipeline-scheduledworkflow"):
        pod = platform.get("Deployment", name, NS).object["spec"]["template"]["spec"]
        assert f"system:serviceaccount:{NS}:{pod['serviceAccountName']}" in exempt
    (validation,) = policy["validations"]
    assert "'pipeline/runid'" in validation["expression"] and "oldObject" in validation["expression"]
    binding = platform.get("ValidatingAdmissionPolicyBinding", "pipelines-run-label").object["spec"]
    assert binding == {"policyName": "pipelines-run-label", "validationActions": ["Deny"]}


STATELESS_SERVERS = {"ml-pipeline", "ml-pipeline-gateway", "ml-pipeline-ui"}


def test_large_runs_the_stateless_servers_twice_with_disruption_budgets(evaluate):
    from tests.conftest import team

    large = evaluate({"a.yaml": team("alpha")}, size="large")
    # (the front door's gateway has its own budget: tests/components/test_frontdoor.py)
    budgets = {
        b.metadata["name"]: b.inputs["spec"]
        for b in large.of_kind("PodDisruptionBudget", NS)
        if b.metadata["labels"]["app.kubernetes.io/component"] == "pipelines"
    }
    assert set(budgets) == STATELESS_SERVERS
    for name in STATELESS_SERVERS:
        deployment = large.get("Deployment", name, NS).inputs["spec"]
        assert deployment["replicas"] == 2, name
        assert budgets[name] == {"minAvailable": 1, "selector": deployment["selector"]}, name
    others = [
        d
        for d in large.of_kind("Deployment", NS) + large.of_kind("StatefulSet", NS)
        if d.metadata["name"] not in STATELESS_SERVERS
        and d.metadata["labels"]["app.kubernetes.io/component"] != "notebooks"
    ]
    assert others and all(d.inputs["spec"]["replicas"] == 1 for d in others)


def test_small_keeps_one_pod_each_and_no_disruption_budget(platform):
    assert platform.of_kind("PodDisruptionBudget") == []
    for name in STATELESS_SERVERS:
        assert platform.get("Deployment", name, NS).inputs["spec"]["replicas"] == 1, name
