"""Serving: KServe v0.16.0 in Standard (raw Kubernetes) mode, so that teams serve models as InferenceServices
in their namespaces, reached in the cluster by Service and from outside only through the front door.

Upstream's kubeflow install (kserve/kserve v0.16.0 config/overlays/kubeflow, as kubeflow/manifests 26.03 uses
it), with these differences:

* Standard mode, no Knative, no Istio, no Ingress: the controller makes a Deployment, Service
  `<name>-predictor` and (with min/maxReplicas) an HPA per InferenceService, and never an Ingress
  (`disableIngressCreation`). From outside, `/serving/<team>/<name>/...` reaches `<name>-predictor` of the
  team's namespace through the front door (a by-name team route, `library.routes.ByName`), open to the team's
  members only; the team's namespace admits the gateway to its predictor pods' port only.
* One controller: the local-model controller and node agent (a privileged DaemonSet) and the
  LLMInferenceService controller are left out, as kubeflow/manifests deletes the agent and the LLM webhook;
  so are their CRDs and webhooks. No kube-rbac-proxy sidecar: metrics listen on loopback only.
* The webhook certificate is the platform's (library/webhooks.py): KServe issues none itself (upstream uses
  cert-manager), and its controller may not write webhook configurations.
* Our own CRDs (manifests/serving/CustomResourceDefinition.yaml.j2): upstream's full ones are ~1.7 MB for the
  five kinds the controller needs (1.04 MB for InferenceServices alone), its minimal ones type nothing.
* Everything a team's InferenceService runs meets the namespace's `restricted` Pod Security: the runtimes'
  containers and the storage initializer (through the ClusterStorageContainer) carry a restricted
  securityContext; modelcars are off (their sidecar has none).
* Per team, a ServiceAccount `default-serving` with the team's object-store access as the distribution gives
  it (its keys' Secret, or a workload identity), so `storageUri: s3://<bucket>/<team prefix>...`, where the
  team's MLflow keeps its artifacts, loads; keys and roles reach the team's prefix only.
* The models web app (kserve/models-web-app v0.16.1) at `/kserve-endpoints/`, behind the door.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from inputs.settings import Settings
from library import k8s
from library.context import Needs, PlatformContext, Shared, StoreAccount, TeamContext
from library.manifests import render
from library.object_store import kserve_s3
from library.routes import GATEWAY_NAMESPACE, USERID_HEADER, ByName, Route
from library.services import OBJECT_STORE_SECRET, ObjectStore
from library.webhooks import servers, webhook_certificates
from library.workloads import admit_api_server, admit_gateway, own_cluster_roles, workload

CONTROLLER = "kserve-controller-manager"
"""The controller's Deployment, ServiceAccount and ClusterRole (upstream's names)."""
WEB_APP = "kserve-models-web-app"
"""The models web app's Deployment, Service, ServiceAccount and ClusterRole."""
WEBHOOK_SERVICE = "kserve-webhook-server-service"
WEBHOOK_SECRET = "kserve-webhook-server-cert"
WEBHOOK_PORT = 9443
PROBE_PORT = 8081
WEB_APP_PORT = 5000
CONFIG = "inferenceservice-config"
"""The ConfigMap the controller reads from its own namespace (constants.InferenceServiceConfigMapName)."""
SERVING_ACCOUNT = "default-serving"
"""Each team's ServiceAccount for InferenceServices (`spec.predictor.serviceAccountName`)."""
PREDICTOR_LABEL = "serving.kserve.io/inferenceservice"
"""The label every pod of an InferenceService carries (constants.InferenceServicePodLabelKey): the pod
webhook's objectSelector, and what the team's namespace opens to the gateway."""
PREDICTOR_PORT = 8080
"""The model servers' HTTP port (every runtime's, and the Service's target: the controller's
InferenceServiceDefaultHttpPort); the predictor Service listens on 80."""
UI_ROUTE = Route("/kserve-endpoints/", WEB_APP, None, 80, rewrite="/")
"""The models web app, as upstream routes it (UPSTREAM-workbench 1.2): prefix stripped."""
ALL_ROLES = ("admin", "edit", "view")
RUNTIME_IMAGES = tuple(
    f"kserve-{server}"
    for server in ("sklearnserver", "xgbserver", "lgbserver", "pmmlserver", "paddleserver", "mlserver")
    + ("huggingfaceserver", "torchserve", "tensorflow-serving", "tritonserver")
)
"""The images of the ClusterServingRuntimes (manifests/serving/ClusterServingRuntime.yaml.j2)."""


def serving_route(team: str) -> Route:
    """A team's models: `/serving/<team>/<name>/...` to the Service `<name>-predictor` of the team's namespace
    (port 80), the prefix and name rewritten to `/` (the model servers answer KServe's protocol paths
    `/v1/models/...`, `/v2/...` at the root), for every member of the team: viewers may call models too."""
    return Route(
        f"/serving/{team}/",
        "model",
        team,
        80,
        rewrite="/",
        team=team,
        roles=ALL_ROLES,
        timeout_seconds=300,
        by_name=ByName(pod_label=PREDICTOR_LABEL, pod_port=PREDICTOR_PORT, service_suffix="-predictor"),
    )


def split_image(reference: str) -> tuple[str, str]:
    """(image, tag) of a pinned reference, for configuration that names them apart (the ART explainer)."""
    image, _, tag = reference.rpartition(":")
    if not image or "/" in tag:
        raise ValueError(f"image {reference!r} is not pinned by tag")
    return image, tag


@dataclass(frozen=True)
class ServingArgs:
    """Inputs of KServe."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    object_store: ObjectStore
    """The artifact store, whose endpoint and key names the storage initializer is given."""
    teams: Sequence[TeamContext]
    """The teams this stack registers: each gets its serving ServiceAccount."""
    api_cidrs: pulumi.Input[Sequence[str]] = ()
    """The API server's addresses: the only clients of the webhooks."""
    certificate_days: tuple[int, int] = (365, 30)
    """Validity and renew-before days of the webhook certificate."""
    platform_part: bool = True
    """Register the platform's objects (False in a team's stack: the team's ServiceAccount only)."""


class Serving(pulumi.ComponentResource):
    """The KServe controller with its webhooks, CRDs, runtimes and configuration, and the models web app, in the
    platform namespace; per team, the ServiceAccount its InferenceServices run as."""

    slug: ClassVar[str] = "serving"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = True

    @classmethod
    def needs(cls, settings: Settings) -> Needs | None:
        """The web app's route, each team's models' route (which also opens the team's predictor pods to the
        gateway), and the serving ServiceAccount among the team's store accounts (for workload identity)."""
        if not settings.serving:
            return None
        return Needs(
            routes=(UI_ROUTE,),
            team_routes=lambda team: (serving_route(team.name),),
            team_store_accounts=lambda team: (StoreAccount(SERVING_ACCOUNT),),
        )

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Serving:
        settings = shared.settings
        return cls(
            name,
            ServingArgs(
                platform=shared.platform,
                object_store=shared.object_store,
                teams=shared.teams,
                api_cidrs=shared.api_cidrs,
                certificate_days=(settings.certificate_validity_days, settings.certificate_renew_before_days),
                platform_part=shared.platform_part,
            ),
            opts,
        )

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Serving", name, None, opts)
        crds: list[pulumi.Resource] = []
        if args.platform_part:
            crds = self._platform(name, args)
        labels = {"app.kubernetes.io/component": "serving", "app.kubernetes.io/part-of": "mlplatform"}
        for team_context in args.teams:
            team, access = team_context.spec, team_context.access
            keys = access.access_key is not None
            annotations: Mapping[str, pulumi.Input[str]] = {} if keys else dict(access.service_account_annotations)
            account = render(
                "serving-team/ServiceAccount.yaml.j2",
                outputs={"annotations": annotations} if annotations else None,
                ns=team.namespace,
                labels={**labels, "mlplatform.io/team": team.namespace},
                account=SERVING_ACCOUNT,
                secret=OBJECT_STORE_SECRET if keys else "",
            )
            k8s.apply(account, f"{name}-{team.name}", self, depends_on=[team_context.namespace, *crds])
        self.register_outputs({})

    def _platform(self, name: str, args: ServingArgs) -> list[pulumi.Resource]:
        """The platform's objects; returns the CRDs."""
        platform = args.platform
        ns = platform.namespace
        images = platform.images
        controller = workload(platform, CONTROLLER, "serving", "kserve-controller")
        web_app = workload(platform, WEB_APP, "serving")
        _, user_labels = k8s.workload_labels("serving", "serving")
        explainer, explainer_version = split_image(images["kserve-art-explainer"])
        config = render(
            "serving/ConfigMap.yaml.j2",
            ns=ns,
            labels=controller["labels"],
            ingress_gateway=f"{GATEWAY_NAMESPACE}/gateway",
            s3=kserve_s3(args.object_store),
            images={
                "storage_initializer": images["kserve-storage-initializer"],
                "agent": images["kserve-agent"],
                "router": images["kserve-router"],
                "art_explainer": explainer,
                "art_explainer_version": explainer_version,
            },
        )
        (data,) = [c["data"] for c in config]
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        served = webhook_certificates(
            name,
            "mlplatform kserve webhooks",
            ns,
            [(WEBHOOK_SERVICE, WEBHOOK_SECRET, controller["labels"])],
            args.certificate_days,
            self,
        )
        common = {
            "ns": ns,
            "controller": controller,
            "web_app": web_app,
            "webhook_port": WEBHOOK_PORT,
            "web_app_port": WEB_APP_PORT,
        }
        created = k8s.apply(
            [
                *render("serving/CustomResourceDefinition.yaml.j2", labels=user_labels),
                *render("serving/ServiceAccount.yaml.j2", **common),
                *render("serving/ClusterRole.yaml.j2", user_labels=user_labels, **common),
                *own_cluster_roles([controller, web_app], ns),
                *render("serving/Role.yaml.j2", **common),
                *render("serving/RoleBinding.yaml.j2", **common),
                *config,
                *served.secrets,
                *render(
                    "serving/Deployment.yaml.j2",
                    config_digest=digest,
                    webhook_secret=WEBHOOK_SECRET,
                    probe_port=PROBE_PORT,
                    userid_header=USERID_HEADER,
                    **common,
                ),
                *render("serving/Service.yaml.j2", webhook_service=WEBHOOK_SERVICE, **common),
                # The API server only reaches the controller (metrics listen on loopback); the gateway only
                # the web app.
                admit_api_server(controller, WEBHOOK_PORT, ns, args.api_cidrs),
                admit_gateway(web_app, WEB_APP_PORT, ns),
                # Before the webhook configurations: the controller validates runtimes too, and the platform's
                # own need not wait for it to be up.
                *render(
                    "serving/ClusterServingRuntime.yaml.j2",
                    labels=user_labels,
                    images={i: images[i] for i in RUNTIME_IMAGES},
                ),
                *render(
                    "serving/ClusterStorageContainer.yaml.j2",
                    labels=user_labels,
                    image=images["kserve-storage-initializer"],
                ),
            ],
            name,
            self,
            depends_on=[platform.namespace_resource],
            options=k8s.retain_definitions,
        )
        crds = [r for (kind, _, _), r in created.items() if kind == "CustomResourceDefinition"]
        cluster_objects = [
            r for (kind, _, _), r in created.items() if kind in ("ClusterServingRuntime", "ClusterStorageContainer")
        ]
        hooks = {"ns": ns, "labels": controller["labels"], "service": WEBHOOK_SERVICE, "pod_label": PREDICTOR_LABEL}
        bundle = {"ca_bundle": served.ca_bundle}
        # Registered once their server is up (and removed before it goes): with failurePolicy Fail, a webhook
        # without its server refuses every InferenceService and every predictor pod.
        k8s.apply(
            [
                *render("serving/MutatingWebhookConfiguration.yaml.j2", outputs=bundle, **hooks),
                *render("serving/ValidatingWebhookConfiguration.yaml.j2", outputs=bundle, **hooks),
            ],
            name,
            self,
            depends_on=[*servers(created, ns), *cluster_objects],
        )
        return crds
