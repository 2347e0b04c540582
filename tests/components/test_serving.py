"""Serving: KServe v0.16.0 in Standard mode with the platform's webhook certificate, its configuration built
from the settings, runtimes that meet `restricted` Pod Security, each team's serving ServiceAccount per
distribution, and models reached through the front door only."""

from __future__ import annotations

import base64
import hashlib
import json

import jsonschema
import pytest
import yaml

from components.platform import PLATFORM_NAMESPACE
from components.serving import (
    CONTROLLER,
    PREDICTOR_LABEL,
    RUNTIME_IMAGES,
    SERVING_ACCOUNT,
    WEB_APP,
    WEBHOOK_SECRET,
    WEBHOOK_SERVICE,
)
from library.images import catalog
from library.routes import GATEWAY_NAMESPACE, gateway_peer
from tests.components.test_frontdoor import by_prefix, envoy_config
from tests.conftest import Platform, team, write_profiles
from tests.render.test_schema import custom_resource_schemas
from tools.evaluate import is_secret, run_platform
from tools.render import stack_config

NS = PLATFORM_NAMESPACE
CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"  # controller-runtime's default (webhook.Options.CertDir)
TEAMS = {
    "a.yaml": team("alpha", members=[{"email": "viewer@example.com", "role": "view"}]),
    "b.yaml": team("beta"),
}
KINDS = ("inferenceservices", "servingruntimes", "clusterservingruntimes", "clusterstoragecontainers")


def pod_of(platform, name: str) -> dict:
    return platform.get("Deployment", name, NS).object["spec"]["template"]["spec"]


def config_of(platform) -> dict:
    """inferenceservice-config with every key parsed (each is a JSON document, as the controller reads it)."""
    data = platform.get("ConfigMap", "inferenceservice-config", NS).object["data"]
    return {key: json.loads(value) for key, value in data.items()}


def restricted(context: dict) -> bool:
    """What `restricted` Pod Security asks of a container when the pod sets nothing."""
    return (
        context["allowPrivilegeEscalation"] is False
        and context["capabilities"] == {"drop": ["ALL"]}
        and context["runAsNonRoot"] is True
        and context.get("runAsUser", 1) > 0
        and context["seccompProfile"] == {"type": "RuntimeDefault"}
    )


def test_the_controller_serves_the_platforms_certificate_without_a_proxy_sidecar(platform):
    pod = pod_of(platform, CONTROLLER)
    (container,) = pod["containers"]  # no kube-rbac-proxy
    assert container["image"] == "docker.io/kserve/kserve-controller:v0.16.0"
    assert "--metrics-addr=127.0.0.1:8080" in container["args"] and "--leader-elect" in container["args"]
    assert {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}} in container["env"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "cert")
    assert mount["mountPath"] == CERT_DIR
    volume = next(v for v in pod["volumes"] if v["name"] == "cert")["secret"]
    assert volume["secretName"] == WEBHOOK_SECRET and {i["path"] for i in volume["items"]} == {"tls.crt", "tls.key"}
    tls = platform.get("Secret", WEBHOOK_SECRET, NS)
    assert tls.object["type"] == "kubernetes.io/tls" and is_secret(tls.inputs["stringData"])
    (certificate,) = [r for r in platform.registrations if r.type.endswith("ServingCertificate") and "kserve" in r.name]
    assert certificate.inputs["dns_names"][0] == f"{WEBHOOK_SERVICE}.{NS}.svc"
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    requests = container["resources"]["requests"]
    assert requests["cpu"] == "200m" and requests["memory"] == "400Mi"  # a third of upstream's 600m/1200Mi
    # it reads its configuration at start: the digest rolls it when the configuration changes
    data = platform.get("ConfigMap", "inferenceservice-config", NS).object["data"]
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    template = platform.get("Deployment", CONTROLLER, NS).object["spec"]["template"]
    assert template["metadata"]["annotations"]["mlplatform.io/config-digest"] == digest


def test_the_configuration_is_standard_mode_without_ingress_with_the_platforms_store(platform):
    config = config_of(platform)
    assert config["deploy"] == {"defaultDeploymentMode": "Standard"}
    ingress = config["ingress"]
    assert ingress["disableIngressCreation"] is True and ingress["ingressDomain"] == "svc.cluster.local"
    assert ingress["enableGatewayApi"] is False and ingress["disableIstioVirtualHost"] is True
    assert ingress["ingressGateway"]  # required by the parser (configmap.go NewIngressConfig)
    assert ingress["domainTemplate"] == "{{ .Name }}-predictor.{{ .Namespace }}.{{ .IngressDomain }}"
    s3 = config["credentials"]["s3"]
    assert s3["s3AccessKeyIDName"] == "accesskey" and s3["s3SecretAccessKeyName"] == "secretkey"
    assert s3["s3Endpoint"] == f"seaweedfs.{NS}.svc.cluster.local:8333" and s3["s3UseHttps"] == "0"
    storage = config["storageInitializer"]
    assert storage["image"] == "docker.io/kserve/storage-initializer:v0.16.0"
    assert storage["enableModelcar"] is False
    assert (storage["cpuRequest"], storage["memoryRequest"], storage["cpuLimit"], storage["memoryLimit"]) == (
        "100m",
        "100Mi",
        "1",
        "1Gi",
    )
    assert config["security"] == {"autoMountServiceAccountToken": False}
    assert config["localModel"] == {"enabled": False}
    assert config["inferenceService"]["resource"]["memoryRequest"] == "2Gi"
    assert config["explainers"]["art"] == {"image": "docker.io/kserve/art-explainer", "defaultImageVersion": "v0.16.0"}
    for key in ("agent", "logger", "batcher"):
        assert config[key]["image"] == "docker.io/kserve/agent:v0.16.0", key
    assert config["router"]["image"] == "docker.io/kserve/router:v0.16.0"


def test_the_configuration_follows_the_store_on_aws(tmp_path):
    config, secret = stack_config("aws")
    folder = write_profiles(tmp_path / "profiles", TEAMS)
    rendered = Platform(run_platform({**config, "mlplatform:profilesDir": str(folder)}, "aws", secret))
    s3 = config_of(rendered)["credentials"]["s3"]
    assert s3["s3Endpoint"] == "" and s3["s3UseHttps"] == ""  # Amazon S3: boto3 finds it from the region
    assert s3["s3Region"] == config["aws:region"]


def test_webhooks_as_upstream_with_the_platforms_ca(platform):
    mutating = platform.get("MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io").object["webhooks"]
    assert [w["name"] for w in mutating] == [
        "inferenceservice.kserve-webhook-server.defaulter",
        "inferenceservice.kserve-webhook-server.pod-mutator",
    ]
    pods = mutating[1]
    assert pods["clientConfig"]["service"]["path"] == "/mutate-pods" and pods["reinvocationPolicy"] == "IfNeeded"
    assert pods["objectSelector"] == {"matchExpressions": [{"key": PREDICTOR_LABEL, "operator": "Exists"}]}
    assert pods["namespaceSelector"] == {"matchExpressions": [{"key": "control-plane", "operator": "DoesNotExist"}]}
    validating = {
        r.metadata["name"]: r.object["webhooks"]
        for r in platform.of_kind("ValidatingWebhookConfiguration")
        if r.metadata["name"].endswith(".serving.kserve.io")
    }
    kinds = ("inferenceservice", "trainedmodel", "inferencegraph", "clusterservingruntime", "servingruntime")
    assert set(validating) == {f"{k}.serving.kserve.io" for k in kinds}  # no local-model or LLM webhooks
    service = platform.get("Service", WEBHOOK_SERVICE, NS).object["spec"]
    assert service["ports"][0]["port"] == 443 and service["ports"][0]["targetPort"] == "webhook-server"
    controller_labels = platform.get("Deployment", CONTROLLER, NS).object["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= controller_labels.items()
    for hook in [*mutating, *(h for hooks in validating.values() for h in hooks)]:
        assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
        assert hook["clientConfig"]["service"]["name"] == WEBHOOK_SERVICE
        assert hook["clientConfig"]["service"]["namespace"] == NS
        assert b"CERTIFICATE" in base64.b64decode(hook["clientConfig"]["caBundle"])


def test_webhook_configurations_wait_for_their_server_and_the_runtimes(platform):
    server = {
        platform.get(kind, name, NS).urn
        for kind, name in (
            ("Deployment", CONTROLLER),
            ("Service", WEBHOOK_SERVICE),
            ("NetworkPolicy", CONTROLLER),
            ("Secret", WEBHOOK_SECRET),
        )
    }
    runtimes = {r.urn for r in platform.of_kind("ClusterServingRuntime")} | {
        platform.get("ClusterStorageContainer", "default").urn
    }
    configurations = [
        platform.get("MutatingWebhookConfiguration", "inferenceservice.serving.kserve.io"),
        *(r for r in platform.of_kind("ValidatingWebhookConfiguration") if "kserve" in r.metadata["name"]),
    ]
    for configuration in configurations:
        assert server | runtimes <= set(configuration.dependencies), configuration.metadata["name"]


def test_the_controller_may_not_write_webhook_configurations_and_may_scale(platform):
    rules = platform.get("ClusterRole", CONTROLLER).object["rules"]
    assert not any("admissionregistration.k8s.io" in r["apiGroups"] for r in rules)
    assert not any("leases" in r["resources"] for r in rules)  # in a Role of the platform namespace
    hpa = next(r for r in rules if r["apiGroups"] == ["autoscaling"])
    assert hpa["resources"] == ["horizontalpodautoscalers"] and {"create", "update", "delete"} <= set(hpa["verbs"])
    ingress = next(r for r in rules if r["apiGroups"] == ["networking.k8s.io"])
    assert ingress["verbs"] == ["get", "list", "watch"]  # watched, never created
    secrets = next(r for r in rules if "secrets" in r["resources"])
    assert secrets["verbs"] == ["get"]
    role = platform.get("Role", f"{CONTROLLER}-leader-election", NS).object
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "get", "list", "update"]}
    ]


def test_team_roles_get_upstreams_serving_rules(platform):
    edit = platform.get("ClusterRole", "kubeflow-kserve-edit").object
    assert edit["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit"] == "true"
    (rule,) = edit["rules"]
    assert "inferenceservices" in rule["resources"] and "create" in rule["verbs"]
    view = platform.get("ClusterRole", "kubeflow-kserve-view").object
    assert view["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view"] == "true"
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in view["rules"])
    admin = platform.get("ClusterRole", "kubeflow-kserve-admin").object
    assert "rules" not in admin
    assert admin["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-admin"] == "true"
    for role in (edit, view):  # namespaced kinds only: a team's binding grants them in its namespace
        assert not any("clusterservingruntimes" in r["resources"] for r in role["rules"])


def test_every_runtime_and_the_storage_initializer_meet_restricted_pod_security(platform):
    runtimes = {r.metadata["name"]: r.object["spec"] for r in platform.of_kind("ClusterServingRuntime")}
    formats = {f["name"] for spec in runtimes.values() for f in spec["supportedModelFormats"]}
    assert formats >= {"sklearn", "xgboost", "lightgbm", "pytorch", "tensorflow", "onnx", "huggingface", "mlflow"}
    for name, spec in runtimes.items():
        (container,) = spec["containers"]
        assert container["name"] == "kserve-container", name  # the controller merges the model's into it
        assert restricted(container["securityContext"]), name
        assert not spec.get("hostIPC") and not spec.get("hostNetwork"), name
        assert all(set(v) <= {"name", "emptyDir"} for v in spec.get("volumes", [])), name
    storage = platform.get("ClusterStorageContainer", "default").object["spec"]
    assert storage["container"]["name"] == "storage-initializer" and restricted(storage["container"]["securityContext"])
    assert {"prefix": "s3://"} in storage["supportedUriFormats"] and storage["workloadType"] == "initContainer"


def test_the_registry_override_reaches_every_image_a_model_can_run(evaluate):
    registry = "registry.example.com/mirror"
    rendered = evaluate(TEAMS, imageRegistry=registry)
    runtimes = [c["image"] for r in rendered.of_kind("ClusterServingRuntime") for c in r.object["spec"]["containers"]]
    assert sorted(runtimes) == sorted(catalog(registry)[i] for i in RUNTIME_IMAGES)
    config = config_of(rendered)
    inside = [
        config["storageInitializer"]["image"],
        *(config[k]["image"] for k in ("agent", "logger", "batcher", "router")),
        config["explainers"]["art"]["image"],
        rendered.get("ClusterStorageContainer", "default").object["spec"]["container"]["image"],
        *(pod_of(rendered, name)["containers"][0]["image"] for name in (CONTROLLER, WEB_APP)),
    ]
    for image in [*runtimes, *inside]:
        assert image.startswith(f"{registry}/"), image
    # every KServe image of the catalog is used somewhere
    used = set(runtimes) | set(inside) | {f"{config['explainers']['art']['image']}:v0.16.0"}
    kserve = {ref for name, ref in catalog(registry).items() if name.startswith("kserve-")}
    assert kserve <= used, kserve - used


def test_each_team_has_a_serving_account_with_its_store_access(platform):
    for name in ("forecasting", "nlp", "vision"):
        account = platform.get("ServiceAccount", SERVING_ACCOUNT, name).object
        # vanilla: the team's keys (limited to its prefix), found by KServe through `secrets`
        assert account["secrets"] == [{"name": "object-store-credentials"}]
        assert account["automountServiceAccountToken"] is False
        assert not account["metadata"].get("annotations")
        keys = platform.get("Secret", "object-store-credentials", name).object
        assert set(keys["stringData"]) >= {"accesskey", "secretkey"}
    # no Kubernetes rights of its own
    for binding in platform.of_kind("RoleBinding"):
        subjects = binding.object.get("subjects", [])
        assert not any(s.get("name") == SERVING_ACCOUNT for s in subjects), binding.metadata


@pytest.fixture(scope="module", params=["aws", "azure"])
def distribution(request, tmp_path_factory):
    config, secret = stack_config(request.param)
    folder = write_profiles(tmp_path_factory.mktemp("profiles"), TEAMS)
    return request.param, Platform(
        run_platform({**config, "mlplatform:profilesDir": str(folder)}, request.param, secret)
    )


def test_the_serving_account_per_distribution(distribution):
    name, platform = distribution
    account = platform.get("ServiceAccount", SERVING_ACCOUNT, "alpha").object
    if name == "aws":  # IRSA: KServe's credential builder switches to the web-identity token; no keys
        assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]
        assert "secrets" not in account
    else:  # azure: SeaweedFS in front of Blob Storage, the team's keys (KServe reads no Azure identity)
        assert account["secrets"] == [{"name": "object-store-credentials"}]
        assert platform.get("Secret", "object-store-credentials", "alpha")


def test_models_are_reached_through_the_door_by_the_teams_members_only(evaluate):
    rendered = evaluate(TEAMS)
    routes = by_prefix(envoy_config(rendered))
    model = routes["/serving/alpha/"]
    action = model["route"]
    assert action["host_rewrite_path_regex"]["substitution"] == r"\1-predictor.alpha.svc.cluster.local:80"
    assert action["regex_rewrite"]["substitution"] == "/"
    policies = model["typed_per_filter_config"]["envoy.filters.http.rbac"]["rbac"]["rules"]["policies"]
    (policy,) = policies.values()
    people = {p["header"]["string_match"]["exact"] for p in policy["principals"]}
    assert people == {"owner@alpha.example.com", "viewer@example.com"}  # viewers may call models
    # the team's namespace opens its model servers' port to the gateway, nothing else of theirs
    policy = rendered.get("NetworkPolicy", "gateway-serving-kserve-io-inferenceservice-8080", "alpha").object["spec"]
    assert policy["podSelector"] == {"matchExpressions": [{"key": PREDICTOR_LABEL, "operator": "Exists"}]}
    assert policy["ingress"] == [{"from": [gateway_peer()], "ports": [{"port": 8080, "protocol": "TCP"}]}]
    # no Ingress of KServe's, and the web app behind the door
    assert not [i for i in rendered.of_kind("Ingress") if i.metadata.get("namespace") != GATEWAY_NAMESPACE]
    assert routes["/kserve-endpoints/"]["route"]["prefix_rewrite"] == "/"


def test_the_models_web_app_trusts_the_gateway_only(platform):
    (container,) = pod_of(platform, WEB_APP)["containers"]
    assert container["image"] == "ghcr.io/kserve/models-web-app:0.16.1"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["APP_PREFIX"] == "/kserve-endpoints" and env["USERID_HEADER"] == "kubeflow-userid"
    assert env["USERID_PREFIX"] == "" and env["APP_SECURE_COOKIES"] == "true"
    assert "APP_DISABLE_AUTH" not in env
    policy = platform.get("NetworkPolicy", WEB_APP, NS).object["spec"]
    assert policy["ingress"] == [{"from": [gateway_peer()], "ports": [{"port": 5000, "protocol": "TCP"}]}]
    rules = platform.get("ClusterRole", WEB_APP).object["rules"]
    assert {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]} in rules
    pod = pod_of(platform, WEB_APP)
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
    links = json.loads(platform.get("ConfigMap", "centraldashboard-config", NS).object["data"]["links"])
    assert {"type": "item", "text": "KServe Endpoints", "icon": "kubeflow:models", "link": "/kserve-endpoints/"} in (
        links["menuLinks"]
    )


def test_only_the_api_server_reaches_the_webhook(evaluate):
    rendered = evaluate(TEAMS, kubernetesApiCidrs='["172.18.0.2/32"]')
    policy = rendered.get("NetworkPolicy", CONTROLLER, NS).object["spec"]
    assert policy["ingress"] == [
        {"from": [{"ipBlock": {"cidr": "172.18.0.2/32"}}], "ports": [{"port": 9443, "protocol": "TCP"}]}
    ]


def test_turned_off(evaluate):
    rendered = evaluate(TEAMS, serving="false")
    assert not rendered.components("mlplatform:index:Serving")
    assert not [c for c in rendered.of_kind("CustomResourceDefinition") if "kserve" in c.metadata["name"]]
    webhooks = [*rendered.of_kind("MutatingWebhookConfiguration"), *rendered.of_kind("ValidatingWebhookConfiguration")]
    assert not [w for w in webhooks if "kserve" in w.metadata["name"]]
    assert not [a for a in rendered.of_kind("ServiceAccount") if a.metadata["name"] == SERVING_ACCOUNT]
    routes = by_prefix(envoy_config(rendered))
    assert not [p for p in routes if p.startswith(("/serving/", "/kserve-endpoints"))]
    assert "kserve-endpoints" not in rendered.get("ConfigMap", "centraldashboard-config", NS).object["data"]["links"]


def test_the_crds_are_retained_and_small(platform):
    crds = [c for c in platform.of_kind("CustomResourceDefinition") if c.metadata["name"].endswith("serving.kserve.io")]
    assert {c.metadata["name"].split(".")[0] for c in crds} == {*KINDS, "trainedmodels", "inferencegraphs"}
    assert all(c.retain_on_delete for c in crds)  # turning serving off keeps every team's InferenceServices
    # (upstream's full CRDs for these six kinds: ~1.48 MB of YAML; its minimal ones ~7.7 KB)
    assert sum(len(yaml.safe_dump(c.object)) for c in crds) < 20_000


def test_the_inferenceservice_schema_takes_what_users_write_and_refuses_what_kserve_would(platform):
    schemas = custom_resource_schemas(platform)
    schema = schemas["serving.kserve.io/v1beta1", "InferenceService"]
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "iris", "namespace": "alpha"},
        "spec": {
            "predictor": {
                "serviceAccountName": SERVING_ACCOUNT,
                "minReplicas": 1,
                "maxReplicas": 3,
                "scaleMetric": "cpu",
                "scaleTarget": 80,
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "storageUri": "s3://mlpipeline/private-artifacts/alpha/mlflow/1/abc/artifacts/model",
                    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                },
            }
        },
    }
    jsonschema.validate(isvc, schema)
    for bad in (
        {**isvc, "spec": {}},  # no predictor
        {**isvc, "spec": {"predictor": {"model": {"modelFormat": {}}}}},  # a format without a name
        {**isvc, "spec": {"predictor": {**isvc["spec"]["predictor"], "minReplicas": "one"}}},
        {**isvc, "spec": {"predictor": {**isvc["spec"]["predictor"], "scaleMetric": "gpu"}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    for runtime in platform.of_kind("ClusterServingRuntime"):
        jsonschema.validate(runtime.object, schemas["serving.kserve.io/v1alpha1", "ClusterServingRuntime"])
