"""Notebooks: the controller without Istio, the web apps behind the gateway, the PodDefaults webhook with the
platform's certificate, a notebook template that meets `restricted`, and each team's PodDefaults."""

from __future__ import annotations

import json

import pytest
import yaml

from components.notebooks import JUPYTER_ROUTE, VOLUMES_ROUTE, Notebooks
from components.platform import PLATFORM_NAMESPACE as NS
from components.tracking import tracking_uri
from inputs import settings as settings_module
from inputs.profile import TeamSpec
from library.routes import gateway_peer
from tests.conftest import Platform, team
from tools.evaluate import is_secret, run_platform
from tools.render import stack_config

TEAMS = {"a.yaml": team("alpha"), "b.yaml": team("beta")}


def pod_of(platform, name, ns=NS):
    return platform.get("Deployment", name, ns).object["spec"]["template"]["spec"]


def env_of(container) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def notebook_from_template(platform) -> dict:
    """The Notebook the Jupyter web app makes from our template (helpers.load_param_yaml: str.format, then YAML)."""
    text = platform.get("ConfigMap", "jupyter-web-app-config", NS).object["data"]["notebook_template.yaml"]
    filled = text.format(name="nb", namespace="alpha", serviceAccount="default-editor", creator="a@example.com")
    return yaml.safe_load(filled)


def test_the_component_and_its_routes(platform):
    assert {d.metadata["name"] for d in platform.of_kind("Deployment", NS)} >= {
        "notebook-controller",
        "jupyter-web-app",
        "volumes-web-app",
        "admission-webhook",
    }
    crds = {c.metadata["name"] for c in platform.of_kind("CustomResourceDefinition")}
    assert {"notebooks.kubeflow.org", "poddefaults.kubeflow.org", "pvcviewers.kubeflow.org"} <= crds
    routes = Notebooks.needs(settings_module.load({}, "Pulumi.dev.yaml")).routes
    assert routes == (JUPYTER_ROUTE, VOLUMES_ROUTE)
    assert (JUPYTER_ROUTE.prefix, JUPYTER_ROUTE.rewrite, dict(JUPYTER_ROUTE.headers)) == (
        "/jupyter/",
        "/",
        {"x-forwarded-prefix": "/jupyter"},
    )
    services = {(s.metadata["name"], s.object["spec"]["ports"][0]["port"]) for s in platform.of_kind("Service", NS)}
    assert {(r.service, r.port) for r in routes} <= services
    links = json.loads(platform.get("ConfigMap", "centraldashboard-config", NS).object["data"]["links"])
    assert [m["link"] for m in links["menuLinks"] if m["text"] in ("Notebooks", "Volumes")] == [
        "/jupyter/",
        "/volumes/",
    ]


def test_controller_runs_without_istio_and_culls_as_configured(evaluate):
    default = evaluate(TEAMS)
    config = default.get("ConfigMap", "notebook-controller-config", NS).object["data"]
    assert config["USE_ISTIO"] == "false" and config["ENABLE_CULLING"] == "false"
    culling = evaluate(TEAMS, notebookCulling="true", notebookIdleMinutes="90", notebookIdleCheckMinutes="3")
    config = culling.get("ConfigMap", "notebook-controller-config", NS).object["data"]
    assert (config["ENABLE_CULLING"], config["CULL_IDLE_TIME"], config["IDLENESS_CHECK_PERIOD"]) == ("true", "90", "3")
    (container,) = pod_of(culling, "notebook-controller")["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": "notebook-controller-config"}}]
    # a new configuration rolls the controller (it reads its environment once)
    digest = "mlplatform.io/config-digest"
    before = default.get("Deployment", "notebook-controller", NS).object["spec"]["template"]["metadata"]
    after = culling.get("Deployment", "notebook-controller", NS).object["spec"]["template"]["metadata"]
    assert before["annotations"][digest] != after["annotations"][digest]


def test_web_apps_trust_only_the_gateway(platform):
    for app, prefix in (("jupyter-web-app", "/jupyter"), ("volumes-web-app", "/volumes")):
        (container,) = pod_of(platform, app)["containers"]
        env = env_of(container)
        assert env["APP_PREFIX"] == prefix and env["USERID_HEADER"] == "kubeflow-userid"
        assert env["USERID_PREFIX"] == "" and env["APP_SECURE_COOKIES"] == "true"
        (rule,) = platform.get("NetworkPolicy", app, NS).object["spec"]["ingress"]
        assert rule["from"] == [gateway_peer()] and rule["ports"] == [{"port": 5000, "protocol": "TCP"}]


def test_spawner_offers_upstream_images_through_the_registry_override(evaluate):
    mirrored = evaluate(TEAMS, imageRegistry="mirror.example.com/kf")
    config = mirrored.get("ConfigMap", "jupyter-web-app-config", NS).object["data"]["spawner_ui_config.yaml"]
    form = yaml.safe_load(config)["spawnerFormDefaults"]
    images = [*form["image"]["options"], *form["imageGroupOne"]["options"], *form["imageGroupTwo"]["options"]]
    assert form["image"]["value"] == "mirror.example.com/kf/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0"
    assert len(images) == 8 and all(
        i.startswith("mirror.example.com/kf/kubeflow/kubeflow/notebook-servers/") for i in images
    )
    # the team's PodDefaults are ticked for a new notebook
    assert form["configurations"]["value"] == ["access-ml-pipeline", "access-mlflow", "access-object-store"]


def test_spawner_template_meets_restricted_pod_security(platform):
    notebook = notebook_from_template(platform)
    assert notebook["metadata"] == {
        "name": "nb",
        "namespace": "alpha",
        "labels": {"app": "nb"},
        "annotations": {"notebooks.kubeflow.org/server-type": "", "notebooks.kubeflow.org/creator": "a@example.com"},
    }
    pod = notebook["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "default-editor"
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
    assert security["seccompProfile"] == {"type": "RuntimeDefault"} and security["fsGroup"] == 100
    (container,) = pod["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    # mounted over the app's own template, where the app reads it
    (jwa,) = pod_of(platform, "jupyter-web-app")["containers"]
    mounts = {m["mountPath"]: m.get("subPath") for m in jwa["volumeMounts"]}
    assert mounts["/src/apps/common/yaml/notebook_template.yaml"] == "notebook_template.yaml"
    assert mounts["/etc/config/spawner_ui_config.yaml"] == "spawner_ui_config.yaml"


def test_webhook_uses_the_platform_certificate_and_only_the_api_server_reaches_it(evaluate):
    result = evaluate(TEAMS, kubernetesApiCidrs=json.dumps(["172.18.0.2/32"]))
    (hook,) = result.get("MutatingWebhookConfiguration", "admission-webhook").object["webhooks"]
    assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
    assert hook["namespaceSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "kubeflow-profile"}}
    assert hook["objectSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/part-of", "operator": "NotIn", "values": ["mlplatform"]}
    ]
    service = hook["clientConfig"]["service"]
    assert (service["name"], service["namespace"], service["path"]) == (
        "admission-webhook-service",
        NS,
        "/apply-poddefault",
    )
    assert hook["clientConfig"]["caBundle"]  # the platform CA's bundle (an Output)
    certs = result.get("Secret", "admission-webhook-certs", NS)
    assert certs.object["type"] == "kubernetes.io/tls" and is_secret(certs.inputs["stringData"])
    pod = pod_of(result, "admission-webhook")
    assert pod["volumes"] == [{"name": "certs", "secret": {"secretName": "admission-webhook-certs"}}]
    (rule,) = result.get("NetworkPolicy", "admission-webhook", NS).object["spec"]["ingress"]
    assert rule == {"from": [{"ipBlock": {"cidr": "172.18.0.2/32"}}], "ports": [{"port": 4443, "protocol": "TCP"}]}


def test_team_roles_get_upstreams_notebook_rights_and_no_more(platform):
    aggregated = {
        r.metadata["name"]: r.object
        for r in platform.of_kind("ClusterRole")
        if any(k.startswith("rbac.authorization.kubeflow.org/aggregate-to-kubeflow-") for k in r.metadata["labels"])
        and r.metadata["labels"].get("app.kubernetes.io/component") == "notebooks"
    }
    assert set(aggregated) == {
        "kubeflow-notebooks-edit",
        "kubeflow-notebooks-view",
        "kubeflow-notebook-ui-edit",
        "kubeflow-notebook-ui-view",
        "kubeflow-poddefaults-view",
        "kubeflow-volume-ui-view",
    }
    resources = {res for role in aggregated.values() for rule in role["rules"] for res in rule["resources"]}
    assert resources <= {
        "notebooks",
        "notebooks/status",
        "notebooks/finalizers",
        "poddefaults",
        "pvcviewers",
        "storageclasses",
    }
    # a team may not create file-browser viewers (no controller serves them)
    for role in aggregated.values():
        for rule in role["rules"]:
            assert "pvcviewers" not in rule["resources"] or set(rule["verbs"]) == {"get", "list"}


def test_notebook_pods_admit_only_the_gateway_and_the_controller(platform):
    controller = platform.get("Deployment", "notebook-controller", NS).object["spec"]["selector"]["matchLabels"]
    notebooks = {"matchExpressions": [{"key": "notebook-name", "operator": "Exists"}]}
    policy = platform.get("NetworkPolicy", "notebook-controller", "nlp").object["spec"]
    assert policy["podSelector"] == notebooks
    assert policy["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}},
                    "podSelector": {"matchLabels": controller},
                }
            ],
            "ports": [{"port": 8888, "protocol": "TCP"}],
        }
    ]
    # the gateway's, from the team's notebooks route (components/profiles.py)
    gateway = platform.get("NetworkPolicy", "gateway-notebook-name-8888", "nlp").object["spec"]
    assert gateway["podSelector"] == notebooks
    assert gateway["ingress"] == [{"from": [gateway_peer()], "ports": [{"port": 8888, "protocol": "TCP"}]}]


def test_each_teams_notebooks_route(platform):
    (route,) = Notebooks.needs(settings_module.load({}, "Pulumi.dev.yaml")).team_routes(team_spec("nlp"))
    assert (route.prefix, route.namespace, route.port, route.team) == ("/notebook/nlp/", "nlp", 80, "nlp")
    assert route.rewrite is None and route.websocket and route.timeout_seconds == 0
    assert set(route.roles) == {"admin", "edit"}
    assert (route.by_name.pod_label, route.by_name.pod_port) == ("notebook-name", 8888)


def team_spec(name: str) -> TeamSpec:
    return TeamSpec(name, f"owner@{name}.example.com", f"{name}.yaml")


def pod_defaults(platform: Platform, ns: str) -> dict[str, dict]:
    return {p.metadata["name"]: p.object["spec"] for p in platform.of_kind("PodDefault", ns)}


def test_pipelines_and_mlflow_pod_defaults(platform):
    defaults = pod_defaults(platform, "nlp")
    pipelines = defaults["access-ml-pipeline"]
    assert pipelines["selector"] == {"matchLabels": {"access-ml-pipeline": "true"}}
    assert env_of(pipelines) == {"KF_PIPELINES_SA_TOKEN_PATH": "/var/run/secrets/kubeflow/pipelines/token"}
    (volume,) = pipelines["volumes"]
    (source,) = volume["projected"]["sources"]
    assert source["serviceAccountToken"]["audience"] == "pipelines.kubeflow.org"
    assert pipelines["volumeMounts"][0]["mountPath"] == "/var/run/secrets/kubeflow/pipelines"
    assert env_of(defaults["access-mlflow"]) == {"MLFLOW_TRACKING_URI": tracking_uri("nlp", "kubeflow-mlflow")}


def test_without_tracking_no_mlflow_pod_default(evaluate):
    result = evaluate(TEAMS, tracking="false")
    assert set(pod_defaults(result, "alpha")) == {"access-ml-pipeline", "access-object-store"}
    form = yaml.safe_load(
        result.get("ConfigMap", "jupyter-web-app-config", NS).object["data"]["spawner_ui_config.yaml"]
    )
    assert form["spawnerFormDefaults"]["configurations"]["value"] == ["access-ml-pipeline", "access-object-store"]


@pytest.fixture(scope="module", params=["vanilla", "aws", "azure"])
def distribution(request, tmp_path_factory):
    from tests.conftest import write_profiles

    config, secret = stack_config(request.param)
    folder = write_profiles(tmp_path_factory.mktemp("profiles"), TEAMS)
    return request.param, Platform(
        run_platform({**config, "mlplatform:profilesDir": str(folder)}, request.param, secret)
    )


def test_object_store_pod_default_per_distribution(distribution):
    name, platform = distribution
    env = env_of(pod_defaults(platform, "alpha")["access-object-store"])
    assert env["ARTIFACTS_URI"].startswith("s3://") and env["ARTIFACTS_URI"].endswith("/private-artifacts/alpha/")
    assert env["AWS_DEFAULT_REGION"]
    keys = {"secretKeyRef": {"name": "object-store-credentials", "key": "accesskey"}}
    if name == "aws":  # IRSA: default-editor's role; no keys, Amazon's own endpoint
        assert "AWS_ACCESS_KEY_ID" not in env and "AWS_ENDPOINT_URL_S3" not in env
        editor = platform.get("ServiceAccount", "default-editor", "alpha").object["metadata"]
        assert "eks.amazonaws.com/role-arn" in editor.get("annotations", {})
    else:  # SeaweedFS (azure: in front of Blob Storage): the team's keys, limited to its prefix
        assert env["AWS_ACCESS_KEY_ID"] == keys and env["AWS_ENDPOINT_URL_S3"] == env["MLFLOW_S3_ENDPOINT_URL"]
        assert platform.get("Secret", "object-store-credentials", "alpha")


def test_turned_off_nothing_of_notebooks_is_registered(evaluate):
    result = evaluate(TEAMS, notebooks="false")
    assert not result.of_kind("PodDefault")
    webhooks = {r.metadata["name"] for r in result.of_kind("MutatingWebhookConfiguration")}
    assert not any("poddefault" in n or "admission-webhook" in n for n in webhooks), webhooks
    names = {r.metadata["name"] for r in result.objects}
    assert not names & {
        "notebook-controller",
        "jupyter-web-app",
        "notebooks.kubeflow.org",
        "gateway-notebook-name-8888",
    }
    links = json.loads(result.get("ConfigMap", "centraldashboard-config", NS).object["data"]["links"])
    assert not [m for m in links["menuLinks"] if m.get("link") in ("/jupyter/", "/volumes/")]


def test_the_spawners_notebook_is_valid_for_our_crd_and_its_pod_for_kubernetes(platform):
    import jsonschema
    import kubernetes_validate

    from tests.render.test_schema import KUBERNETES_VERSION, custom_resource_schemas

    notebook = notebook_from_template(platform)
    notebook["spec"]["template"]["spec"]["containers"][0]["image"] = "example.com/jupyter:1"  # set by the form
    schemas = custom_resource_schemas(platform)
    jsonschema.validate(notebook, schemas["kubeflow.org/v1beta1", "Notebook"])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nb-0"},
        "spec": notebook["spec"]["template"]["spec"],
    }
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    # what the controller reads without a nil check (containers[0]) is required, in every served version
    for version in ("v1", "v1alpha1", "v1beta1"):
        empty = {
            **notebook,
            "apiVersion": f"kubeflow.org/{version}",
            "spec": {"template": {"spec": {"containers": []}}},
        }
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(empty, schemas[f"kubeflow.org/{version}", "Notebook"])


def test_team_objects_wait_only_for_what_they_need(platform):
    crd = platform.get("CustomResourceDefinition", "poddefaults.kubeflow.org").urn
    namespace = platform.get("Namespace", "nlp").urn
    pod_default = platform.get("PodDefault", "access-ml-pipeline", "nlp")
    assert {crd, namespace} <= set(pod_default.dependencies)
    policy = platform.get("NetworkPolicy", "notebook-controller", "nlp")
    assert namespace in policy.dependencies and crd not in policy.dependencies


def test_every_notebooks_object_is_valid_for_kubernetes(platform):
    """What the render tier checks for the whole platform, for this component's objects alone."""
    import jsonschema
    import kubernetes_validate

    from tests.render.test_schema import KUBERNETES_VERSION, custom_resource_schemas

    schemas = custom_resource_schemas(platform)
    ours = [r.object for r in platform.objects if "Notebooks" in r.urn.rsplit("::", 1)[0]]
    assert len(ours) >= 40
    for obj in ours:
        if (obj["apiVersion"], obj["kind"]) in schemas:
            jsonschema.validate(obj, schemas[obj["apiVersion"], obj["kind"]])
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_webhook_is_registered_after_its_server_and_its_crds_stay(platform):
    # failurePolicy Fail on every team pod: registered once the server answers, removed before it goes
    after = platform.get("MutatingWebhookConfiguration", "admission-webhook").dependencies
    for server, named in (("Deployment", "admission-webhook"), ("Service", "admission-webhook-service")):
        assert any(f":{server}::" in d and d.endswith(f"/{named}") for d in after), (server, after)
    assert any(":NetworkPolicy::" in d for d in after) and any(":Secret::" in d for d in after), after
    # deleting a CRD deletes the teams' notebooks: turning notebooks off keeps them
    assert platform.get("CustomResourceDefinition", "notebooks.kubeflow.org").retain_on_delete
