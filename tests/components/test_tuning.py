"""Tuning: Katib v0.19.0 wired to the platform (database, certificate, front door, team namespaces)."""

from __future__ import annotations

import json

import yaml

from components.platform import PLATFORM_NAMESPACE
from components.tuning import CONTROLLER, NAMESPACE_LABELS, TRAINJOB, TRIAL_RESOURCES
from library.routes import gateway_peer
from tests.components.test_frontdoor import by_prefix, endpoint, envoy_config
from tests.conftest import team
from tools.evaluate import is_secret

NS = PLATFORM_NAMESPACE
TEAMS = ("vision", "nlp", "forecasting")
RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def katib_config(platform) -> dict:
    return yaml.safe_load(platform.get("ConfigMap", "katib-config", NS).object["data"]["katib-config.yaml"])


def container(platform, name: str) -> dict:
    (found,) = platform.get("Deployment", name, NS).object["spec"]["template"]["spec"]["containers"]
    return found


def test_katib_objects_and_team_wiring(platform):
    deployments = {d.metadata["name"] for d in platform.of_kind("Deployment", NS) if "katib" in d.metadata["name"]}
    assert deployments == {"katib-controller", "katib-db-manager", "katib-ui"}  # no katib-mysql
    crds = {c.metadata["name"] for c in platform.of_kind("CustomResourceDefinition") if "katib" in json.dumps(c.object)}
    assert crds == {f"{k}.kubeflow.org" for k in ("experiments", "trials", "suggestions")}
    for name in TEAMS:
        labels = platform.get("Namespace", name).object["metadata"]["labels"]
        assert labels.items() >= NAMESPACE_LABELS.items()
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        # the controller (and only it) reaches the team's suggestion services
        policy = platform.get("NetworkPolicy", "katib-suggestions", name).object["spec"]
        (rule,) = policy["ingress"]
        (peer,) = rule["from"]
        assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": NS}}
        assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "katib-controller"
        assert rule["ports"] == [{"port": 6789, "protocol": "TCP"}]
        # the team's pods (metrics collectors) reach the db-manager, nothing else of Katib's
        admitted = platform.get("NetworkPolicy", f"team-{name}-katib-db-manager", NS).object["spec"]
        assert admitted["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "katib-db-manager"


def test_db_manager_uses_its_own_account_on_the_platform_mysql(platform):
    env = {e["name"]: e for e in container(platform, "katib-db-manager")["env"]}
    assert env["DB_NAME"]["value"] == "mysql"
    refs = {k: v["valueFrom"]["secretKeyRef"] for k, v in env.items() if "valueFrom" in v}
    assert refs == {
        "DB_USER": {"name": "katib-db-manager-db", "key": "username"},
        "DB_PASSWORD": {"name": "katib-db-manager-db", "key": "password"},
        "KATIB_MYSQL_DB_DATABASE": {"name": "katib-db-manager-db", "key": "database"},
        "KATIB_MYSQL_DB_HOST": {"name": "katib-db-manager-db", "key": "host"},
        "KATIB_MYSQL_DB_PORT": {"name": "katib-db-manager-db", "key": "port"},
    }
    account = platform.get("Secret", "katib-db-manager-db", NS)
    assert account.object["stringData"]["database"] == "katib" and is_secret(account.inputs["stringData"])
    job = platform.get("Job", "katib-db-manager-db-setup", NS).object
    assert "katib" in json.dumps(job["spec"]["template"]["spec"])


def test_webhooks_use_the_platform_certificate(platform):
    pod = platform.get("Deployment", "katib-controller", NS).object["spec"]["template"]["spec"]
    (cert,) = [v for v in pod["volumes"] if v["name"] == "cert"]
    assert cert["secret"]["secretName"] == "katib-webhook-cert"
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["cert"] == "/tmp/cert" and mounts["katib-config"] == "/katib-config.yaml"
    secret = platform.get("Secret", "katib-webhook-cert", NS)
    assert secret.object["type"] == "kubernetes.io/tls" and is_secret(secret.inputs["stringData"])
    (served,) = [r for r in platform.registrations if r.type.endswith("ServingCertificate") and "tuning" in r.name]
    assert served.inputs["dns_names"] == [f"{CONTROLLER}.{NS}.svc", f"{CONTROLLER}.{NS}.svc.cluster.local"]
    assert katib_config(platform)["init"]["certGenerator"] == {"enable": False}
    validating = platform.get("ValidatingWebhookConfiguration", "katib.kubeflow.org").object["webhooks"]
    mutating = platform.get("MutatingWebhookConfiguration", "katib.kubeflow.org").object["webhooks"]
    paths = {w["name"]: w["clientConfig"]["service"]["path"] for w in [*validating, *mutating]}
    assert paths == {
        "validator.experiment.katib.kubeflow.org": "/validate-experiment",
        "defaulter.experiment.katib.kubeflow.org": "/mutate-experiment",
        "mutator.pod.katib.kubeflow.org": "/mutate-pod",
    }
    for hook in [*validating, *mutating]:
        assert hook["failurePolicy"] == "Fail" and hook["clientConfig"]["caBundle"]
        assert hook["clientConfig"]["service"]["name"] == "katib-controller"
    pods = mutating[1]
    assert pods["namespaceSelector"] == {"matchLabels": NAMESPACE_LABELS}
    conditions = {c["name"]: c["expression"] for c in pods["matchConditions"]}
    assert "system:serviceaccount:kubeflow:katib-controller" in conditions["exclude-katib-controller"]
    for kind in {r.split(".")[0] for r in TRIAL_RESOURCES}:
        assert f'"{kind}"' in conditions["trial-pods-only"]
    # only the API server may call the webhook port
    policy = platform.get("NetworkPolicy", "katib-controller", NS).object["spec"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": 8443, "protocol": "TCP"}]
    assert rule["from"] and all(set(peer) == {"ipBlock"} for peer in rule["from"])


def test_controller_rbac_has_no_certificate_rights(platform):
    rules = platform.get("ClusterRole", "katib-controller").object["rules"]
    resources = {r for rule in rules for r in rule["resources"]}
    assert "secrets" not in resources
    assert not resources & {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}
    assert {"deployments", "services", "experiments", "trials", "suggestions"} <= resources
    creates = {r for rule in rules if "create" in rule["verbs"] for r in rule["resources"]}
    assert not creates & {"roles", "rolebindings", "serviceaccounts", "persistentvolumes"}  # early stopping only
    assert not [rule for rule in rules if "*" in rule["verbs"]]


def test_team_roles_aggregate_upstream_rules(platform):
    admin = platform.get("ClusterRole", "kubeflow-katib-admin").object
    assert admin["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-admin"] == "true"
    edit = platform.get("ClusterRole", "kubeflow-katib-edit").object
    labels = edit["metadata"]["labels"]
    assert labels["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit"] == "true"
    assert labels["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-katib-admin"] == "true"
    katib_rule, *core = edit["rules"]
    assert katib_rule["apiGroups"] == ["kubeflow.org"] and "create" in katib_rule["verbs"]
    assert {(r["resources"][0], tuple(r["verbs"])) for r in core} == {("pods", ("list",)), ("pods/log", ("get",))}
    view = platform.get("ClusterRole", "kubeflow-katib-view").object
    assert view["metadata"]["labels"]["rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view"] == "true"
    assert {v for r in view["rules"] for v in r["verbs"]} == {"get", "list", "watch"}


def test_ui_trusts_only_the_gateway_and_checks_every_user(platform):
    env = {e["name"]: e.get("value") for e in container(platform, "katib-ui")["env"]}
    assert env["APP_DISABLE_AUTH"] == "false"
    assert env["USERID_HEADER"] == "kubeflow-userid" and env["USERID_PREFIX"] == ""
    policy = platform.get("NetworkPolicy", "katib-ui", NS).object["spec"]
    assert policy["ingress"] == [{"from": [gateway_peer()], "ports": [{"port": 8080, "protocol": "TCP"}]}]
    config = envoy_config(platform)
    route = by_prefix(config)["/katib/"]["route"]
    assert "prefix_rewrite" not in route  # the UI serves under /katib/
    assert endpoint(config, route["cluster"]) == (f"katib-ui.{NS}.svc.cluster.local", 80)
    links = json.loads(platform.get("ConfigMap", "centraldashboard-config", NS).object["data"]["links"])
    assert {"type": "item", "text": "Katib Experiments", "icon": "kubeflow:katib", "link": "/katib/"} in links[
        "menuLinks"
    ]


def test_what_runs_in_team_namespaces_meets_restricted(platform):
    config = katib_config(platform)
    assert config["init"]["controller"]["injectSecurityContext"] is True
    assert "earlyStoppings" not in config["runtime"]  # its container cannot meet `restricted`
    suggestions = config["runtime"]["suggestions"]
    assert {s["algorithmName"] for s in suggestions} >= {"random", "tpe", "grid", "hyperband", "bayesianoptimization"}
    for suggestion in suggestions:
        assert suggestion["securityContext"] == RESTRICTED, suggestion["algorithmName"]
    templates = platform.get("ConfigMap", "trial-templates", NS).object
    assert templates["metadata"]["labels"]["katib.kubeflow.org/component"] == "trial-templates"
    job = yaml.safe_load(templates["data"]["defaultTrialTemplate.yaml"])
    (trial,) = job["spec"]["template"]["spec"]["containers"]
    assert trial["securityContext"] == RESTRICTED


def test_registry_override_reaches_images_inside_configuration(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, imageRegistry="registry.example.com/mirror")
    config = katib_config(rendered)
    images = [
        *(c["image"] for c in config["runtime"]["metricsCollectors"]),
        *(s["image"] for s in config["runtime"]["suggestions"]),
        container(rendered, "katib-controller")["image"],
    ]
    templates = rendered.get("ConfigMap", "trial-templates", NS).object["data"]["defaultTrialTemplate.yaml"]
    images.append(yaml.safe_load(templates)["spec"]["template"]["spec"]["containers"][0]["image"])
    assert images and all(i.startswith("registry.example.com/mirror/kubeflow/katib/") for i in images), images


def test_tuning_off_leaves_katib_out(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, tuning="false")
    assert not [r for r in rendered.objects if "katib" in r.metadata["name"]]
    crds = {c.metadata["name"] for c in rendered.of_kind("CustomResourceDefinition")}
    assert "experiments.kubeflow.org" not in crds
    labels = rendered.get("Namespace", "alpha").object["metadata"]["labels"]
    assert not labels.keys() & NAMESPACE_LABELS.keys()
    assert "/katib/" not in by_prefix(envoy_config(rendered))
    assert "katib" not in rendered.get("ConfigMap", "centraldashboard-config", NS).object["data"]["links"]


def test_trials_run_as_trainjobs_only_with_training(platform, evaluate):
    kinds = katib_config(platform)["init"]["controller"]["trialResources"]
    assert kinds == [TRAINJOB, *TRIAL_RESOURCES]  # every listed kind's CRD is installed
    crds = {c.metadata["name"] for c in platform.of_kind("CustomResourceDefinition")}
    assert "trainjobs.trainer.kubeflow.org" in crds
    controller = platform.get("Deployment", CONTROLLER, NS)
    assert any(d.endswith("trainjobs.trainer.kubeflow.org") for d in controller.dependencies), controller.dependencies
    alone = evaluate({"a.yaml": team("alpha")}, training="false")
    assert katib_config(alone)["init"]["controller"]["trialResources"] == list(TRIAL_RESOURCES)


def test_webhook_configurations_come_after_their_server(platform):
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        after = platform.get(kind, "katib.kubeflow.org").dependencies
        for server in ("Deployment", "Service", "NetworkPolicy"):
            assert any(f":{server}::" in d and d.endswith("katib-controller") for d in after), (server, after)
        assert any(d.endswith("katib-webhook-cert") for d in after), after
