"""Training: Kubeflow Trainer and JobSet with the platform's webhook certificates, lean CRDs, upstream's
webhooks and team roles, and a runtime whose pods meet `restricted` Pod Security."""

from __future__ import annotations

import base64

import jsonschema
import pytest
import yaml

from components.platform import PLATFORM_NAMESPACE
from components.training import JOBSET, RUNTIME, TRAINER
from tests.conftest import team
from tests.render.test_schema import custom_resource_schemas
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE
CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"  # controller-runtime's default (webhook.Options.CertDir)


def pod_of(platform, name: str) -> dict:
    return platform.get("Deployment", name, NS).object["spec"]["template"]["spec"]


def config_of(platform, config_map: str) -> dict:
    return yaml.safe_load(platform.get("ConfigMap", config_map, NS).object["data"]["controller_manager_config.yaml"])


def test_controllers_serve_the_platforms_certificates_with_their_own_rotation_off(platform):
    trainer = config_of(platform, "kubeflow-trainer-config")
    assert trainer["certManagement"] == {"enable": False} and trainer["webhook"]["port"] == 9443
    jobset = config_of(platform, "jobset-manager-config")
    assert jobset["internalCertManagement"] == {"enable": False}
    assert jobset["metrics"] == {"bindAddress": "0"}  # else it wants a metrics certificate of its own
    for name, secret in ((TRAINER, "kubeflow-trainer-webhook-cert"), (JOBSET, "jobset-webhook-server-cert")):
        pod = pod_of(platform, name)
        (container,) = pod["containers"]
        assert container["args"] == ["--config=/controller_manager_config.yaml", "--zap-log-level=2"]
        mount = next(m for m in container["volumeMounts"] if m["name"] == "cert")
        assert mount["mountPath"] == CERT_DIR
        volume = next(v for v in pod["volumes"] if v["name"] == "cert")["secret"]
        assert volume["secretName"] == secret and {i["path"] for i in volume["items"]} == {"tls.crt", "tls.key"}
        tls = platform.get("Secret", secret, NS)
        assert tls.object["type"] == "kubernetes.io/tls" and is_secret(tls.inputs["stringData"])
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert pod_of(platform, TRAINER)["containers"][0]["image"] == (
        "ghcr.io/kubeflow/trainer/trainer-controller-manager:v2.1.0"
    )
    names = sorted(r.inputs["dns_names"][0] for r in platform.registrations if r.type.endswith("ServingCertificate"))
    assert f"jobset-webhook-service.{NS}.svc" in names and f"{TRAINER}.{NS}.svc" in names


def test_webhooks_as_upstream_with_the_platforms_ca(platform):
    trainer = platform.get("ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org").object["webhooks"]
    assert [w["name"] for w in trainer] == [
        f"validator.{k}.trainer.kubeflow.org" for k in ("clustertrainingruntime", "trainingruntime", "trainjob")
    ]
    jobset_v = platform.get("ValidatingWebhookConfiguration", "jobset-validating-webhook-configuration").object
    jobset_m = platform.get("MutatingWebhookConfiguration", "jobset-mutating-webhook-configuration").object
    services = {s.metadata["name"]: s.object["spec"] for s in platform.of_kind("Service", NS)}
    for hook in [*trainer, *jobset_v["webhooks"], *jobset_m["webhooks"]]:
        assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
        service = hook["clientConfig"]["service"]
        assert service["namespace"] == NS and services[service["name"]]["ports"][0]["port"] == 443
        assert b"CERTIFICATE" in base64.b64decode(hook["clientConfig"]["caBundle"])
        if hook["rules"][0]["resources"] == ["pods"]:  # only the pods of JobSets
            assert hook["objectSelector"]["matchExpressions"][0]["key"] == "jobset.sigs.k8s.io/jobset-name"


def test_webhook_configurations_wait_for_the_controllers_and_the_runtime(platform):
    hooks = platform.get("ValidatingWebhookConfiguration", "validator.trainer.kubeflow.org")
    runtime = platform.get("ClusterTrainingRuntime", RUNTIME)
    deployments = {platform.get("Deployment", n, NS).urn for n in (TRAINER, JOBSET)}
    assert runtime.urn in hooks.dependencies and deployments <= set(hooks.dependencies)


def test_no_controller_may_write_webhook_configurations_or_certificates(platform):
    for name in (TRAINER, JOBSET):
        rules = platform.get("ClusterRole", name).object["rules"]
        assert not any(r["apiGroups"] == ["admissionregistration.k8s.io"] for r in rules)
        assert not any("leases" in r["resources"] for r in rules)  # in a Role of the platform namespace
    jobset = platform.get("ClusterRole", JOBSET).object["rules"]
    assert not any("secrets" in r["resources"] for r in jobset)
    role = platform.get("Role", f"{TRAINER}-leader-election", NS).object
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create", "get", "list", "update"]}
    ]


def test_team_roles_get_upstreams_training_rules(platform):
    edit = platform.get("ClusterRole", "kubeflow-trainer-edit").object
    labels = edit["metadata"]["labels"]
    assert labels["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit"] == "true"
    jobs = next(r for r in edit["rules"] if r["resources"] == ["trainjobs"])
    assert set(jobs["verbs"]) == {"create", "delete", "get", "list", "patch", "watch"}
    view = platform.get("ClusterRole", "kubeflow-trainer-view").object
    assert view["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view"] == "true"
    admin = platform.get("ClusterRole", "kubeflow-trainer-admin").object
    assert "rules" not in admin
    assert admin["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-admin"] == "true"
    for role in (edit, view):  # nothing on JobSets, nothing cluster-scoped through a team's binding
        assert not any("jobset.x-k8s.io" in r["apiGroups"] for r in role["rules"])
        assert not any("clustertrainingruntimes" in r["resources"] for r in role["rules"])
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in view["rules"])
    # the cluster's runtimes: readable by every signed-in identity, as upstream binds them
    runtimes = platform.get("ClusterRole", "kubeflow-trainer-view-cluster-runtimes").object["rules"]
    assert runtimes == [
        {
            "apiGroups": ["trainer.kubeflow.org"],
            "resources": ["clustertrainingruntimes"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    binding = platform.get("ClusterRoleBinding", "kubeflow-trainer-view-cluster-runtimes").object
    assert binding["subjects"] == [
        {"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"}
    ]


def test_crds_keep_the_defaults_and_rules_the_controllers_rely_on(platform):
    crds = {c.metadata["name"]: c.object["spec"] for c in platform.of_kind("CustomResourceDefinition")}
    job = crds["trainjobs.trainer.kubeflow.org"]["versions"][0]
    spec = job["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["properties"]["managedBy"]["default"] == "trainer.kubeflow.org/trainjob-controller"
    assert spec["properties"]["suspend"]["default"] is False
    ref = spec["properties"]["runtimeRef"]
    assert ref["properties"]["kind"]["default"] == "ClusterTrainingRuntime"
    assert ref["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    assert job["subresources"] == {"status": {}}
    runtime = crds["clustertrainingruntimes.trainer.kubeflow.org"]
    assert runtime["scope"] == "Cluster"
    torch = runtime["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["mlPolicy"]
    assert torch["properties"]["torch"]["properties"]["numProcPerNode"]["default"] == "auto"
    jobset = crds["jobsets.jobset.x-k8s.io"]["versions"][0]
    replicated = jobset["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicatedJobs"]["items"]
    assert replicated["properties"]["replicas"]["default"] == 1
    assert replicated["properties"]["template"]["x-kubernetes-preserve-unknown-fields"] is True
    assert sum(len(yaml.safe_dump(c)) for c in crds.values() if "trainer" in str(c) or "jobset" in str(c)) < 60_000


def test_the_runtime_meets_restricted_pod_security_and_follows_the_registry(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, imageRegistry="registry.example.com/mirror")
    runtime = rendered.get("ClusterTrainingRuntime", RUNTIME).object["spec"]
    (job,) = runtime["template"]["spec"]["replicatedJobs"]
    pod = job["template"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["name"] == "node"  # the trainer finds the trainer container by this name
    assert container["image"] == "registry.example.com/mirror/pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    controller = rendered.get("Deployment", JOBSET, NS).object["spec"]["template"]["spec"]["containers"][0]
    assert controller["image"] == "registry.example.com/mirror/jobset/jobset:v0.10.1"


def test_only_the_api_server_reaches_the_webhooks(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, kubernetesApiCidrs='["172.18.0.2/32"]')
    for name in (TRAINER, JOBSET):
        policy = rendered.get("NetworkPolicy", name, NS).object["spec"]
        assert policy["ingress"] == [
            {"from": [{"ipBlock": {"cidr": "172.18.0.2/32"}}], "ports": [{"port": 9443, "protocol": "TCP"}]}
        ]


def test_turned_off(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, training="false")
    assert not rendered.components("mlplatform:index:Training")
    names = {c.metadata["name"] for c in rendered.of_kind("CustomResourceDefinition")}
    assert not {n for n in names if "trainer" in n or "jobset" in n}
    assert not [r for r in rendered.of_kind("ClusterRole") if "trainer" in r.metadata["name"]]


def test_the_trainjob_schema_takes_what_users_write_and_refuses_what_it_would_drop(platform):
    schema = custom_resource_schemas(platform)["trainer.kubeflow.org/v1alpha1", "TrainJob"]
    job = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {"name": "mnist", "namespace": "alpha"},
        "spec": {
            "runtimeRef": {"name": RUNTIME},
            "trainer": {
                "numNodes": 2,
                "command": ["torchrun", "train.py"],
                "env": [{"name": "EPOCHS", "value": "3"}],
                "resourcesPerNode": {"requests": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1}},
            },
            "podTemplateOverrides": [{"targetJobs": [{"name": "node"}], "spec": {"nodeSelector": {"gpu": "a100"}}}],
        },
    }
    jsonschema.validate(job, schema)
    for bad in (
        {**job, "spec": {"trainer": job["spec"]["trainer"]}},  # no runtime
        {**job, "spec": {**job["spec"], "trainers": {}}},  # a typo the API server would drop silently
        {**job, "spec": {**job["spec"], "runtimeRef": {"name": ""}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
