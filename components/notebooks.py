"""Notebooks: Kubeflow Notebooks v1.10.0 without Istio, and the PodDefaults each team ticks in the spawner.

The notebook controller makes a StatefulSet and Service per Notebook (USE_ISTIO=false: no
VirtualService; the front door routes `/notebook/<team>/<name>/`). The Jupyter web app (`/jupyter/`)
creates Notebooks for the signed-in user, from our own notebook template: its pods meet the team
namespace's `restricted` Pod Security level (upstream's template sets no securityContext). The volumes
web app (`/volumes/`) manages claims; its file browser is left out (the pvcviewer-controller needs
Istio). The PodDefaults webhook merges the PodDefaults a pod's labels select into it; every team gets
three (pipelines, MLflow, object store), ticked by default in the spawner.

TensorBoards are left out: the tensorboard-controller always creates an Istio VirtualService
(tensorboard_controller.go, still in kubeflow/notebooks v1.11.0), so a TensorBoard never becomes ready
without Istio's CRD. Run `tensorboard --logdir s3://...` in a notebook instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from components.tracking import NAMESPACE as TRACKING_NAMESPACE
from components.tracking import Tracking, tracking_uri
from inputs.notebooks import Culling
from inputs.settings import Settings
from library import k8s
from library.context import Needs, PlatformContext, Shared, TeamContext
from library.manifests import render
from library.object_store import workload_environment
from library.routes import USERID_HEADER, ByName, Route
from library.services import OBJECT_STORE_SECRET, ObjectStore
from library.webhooks import servers, webhook_certificates
from library.workloads import admit_api_server, admit_gateway, own_cluster_roles, workload

CONTROLLER = "notebook-controller"
JUPYTER = "jupyter-web-app"
VOLUMES = "volumes-web-app"
WEBHOOK = "admission-webhook"
WEBHOOK_PORT = 4443
WEB_APP_PORT = 5000
"""Where the crud web apps' gunicorn listens (crud-web-apps manifests/base, v1.10.0)."""
"""The webhook's HTTPS port (main.go `--webhookPort` default)."""
JUPYTER_ROUTE = Route(
    "/jupyter/", f"{JUPYTER}-service", None, 80, rewrite="/", headers={"x-forwarded-prefix": "/jupyter"}
)
"""The spawner, as upstream routes it (UPSTREAM-workbench 1.2): prefix stripped, and named in x-forwarded-prefix."""
VOLUMES_ROUTE = Route(
    "/volumes/", f"{VOLUMES}-service", None, 80, rewrite="/", headers={"x-forwarded-prefix": "/volumes"}
)
"""The volumes web app, routed like the spawner."""
SPAWNER_IMAGES = {
    "jupyter": (
        "notebook-jupyter-scipy",
        "notebook-jupyter-pytorch-full",
        "notebook-jupyter-pytorch-cuda-full",
        "notebook-jupyter-pytorch-gaudi-full",
        "notebook-jupyter-tensorflow-full",
        "notebook-jupyter-tensorflow-cuda-full",
    ),
    "codeserver": ("notebook-codeserver-python",),
    "rstudio": ("notebook-rstudio-tidyverse",),
}
"""The spawner's images by group, in upstream's order (spawner_ui_config.yaml), the first the default."""
NOTEBOOK_PORT = 8888
"""The port of a notebook's container (the controller's default `notebook-port`); its Service listens on 80."""


def notebook_route(team: str) -> Route:
    """A team's notebooks: `/notebook/<team>/<name>/` to the Service `<name>` of the team's namespace, the path
    kept (the server serves under NB_PREFIX), websockets (kernels, terminals) and no time limit, for the team's
    owner, admins and editors (whose role may create notebooks; the server has no login of its own)."""
    return Route(
        f"/notebook/{team}/",
        "notebook",
        team,
        80,
        team=team,
        roles=("admin", "edit"),
        websocket=True,
        timeout_seconds=0,
        by_name=ByName(pod_label="notebook-name", pod_port=NOTEBOOK_PORT),
    )


POD_DEFAULT_LABELS = {"pipelines": "access-ml-pipeline", "mlflow": "access-mlflow", "store": "access-object-store"}
"""The label selecting each team PodDefault (manifests/notebooks-team/PodDefault.yaml.j2)."""


def spawner_images(images: Mapping[str, str]) -> dict[str, list[str]]:
    """The spawner's image choices, from the catalog (so after mlplatform:imageRegistry)."""
    return {group: [images[name] for name in names] for group, names in SPAWNER_IMAGES.items()}


@dataclass(frozen=True)
class NotebooksArgs:
    """Inputs of Kubeflow Notebooks."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    object_store: ObjectStore
    """The artifact store (each team's PodDefault reaches its prefix)."""
    teams: Sequence[TeamContext]
    """The teams this stack registers: each gets its PodDefaults and the notebooks' NetworkPolicy."""
    culling: Culling = Culling()
    """Whether and when idle notebooks are stopped."""
    tracking: bool = True
    """Whether each team has an MLflow server (then a PodDefault points at it)."""
    api_cidrs: pulumi.Input[Sequence[str]] = ()
    """The API server's addresses: the only clients of the webhook."""
    certificate_days: tuple[int, int] = (365, 30)
    """The webhook certificate's validity and renewal window (days)."""
    platform_part: bool = True
    """Register the platform's objects (False in a team's stack: the team's PodDefaults and policy only)."""


class Notebooks(pulumi.ComponentResource):
    """The notebook controller, the Jupyter and volumes web apps, the PodDefaults webhook, their CRDs
    and RBAC in the platform namespace; per team, its PodDefaults and the notebooks' NetworkPolicy."""

    slug: ClassVar[str] = "notebooks"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = True

    @classmethod
    def needs(cls, settings: Settings) -> Needs | None:
        """The two web apps' routes and each team's notebooks. Notebooks reach nothing new: the pipelines
        gateway, the team's MLflow and an in-cluster store are already open to team pods (their components'
        endpoints)."""
        if not settings.notebooks:
            return None
        return Needs(routes=(JUPYTER_ROUTE, VOLUMES_ROUTE), team_routes=lambda team: (notebook_route(team.name),))

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Notebooks:
        settings = shared.settings
        return cls(
            name,
            NotebooksArgs(
                platform=shared.platform,
                object_store=shared.object_store,
                teams=shared.teams,
                culling=settings.notebook_culling,
                tracking=Tracking.needs(settings) is not None,
                api_cidrs=shared.api_cidrs,
                certificate_days=(settings.certificate_validity_days, settings.certificate_renew_before_days),
                platform_part=shared.platform_part,
            ),
            opts,
        )

    def __init__(self, name: str, args: NotebooksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Notebooks", name, None, opts)
        platform = args.platform
        ns = platform.namespace
        crd = None
        if args.platform_part:
            crd = self._platform(name, args)
        labels = {"app.kubernetes.io/component": "notebooks", "app.kubernetes.io/part-of": "mlplatform"}
        controller_selector = k8s.workload_labels(CONTROLLER, "notebooks")[0]
        store = args.object_store
        for team_context in args.teams:
            team, access = team_context.spec, team_context.access
            team_labels = {**labels, "mlplatform.io/team": team.namespace}
            secret = OBJECT_STORE_SECRET if access.access_key is not None else None
            pod_defaults = render(
                "notebooks-team/PodDefault.yaml.j2",
                ns=team.namespace,
                labels=team_labels,
                platform_namespace=ns,
                tracking_uri=tracking_uri(team.name, TRACKING_NAMESPACE) if args.tracking else "",
                store_env=workload_environment(store, access.prefix, secret),
            )
            # (in a team's stack the CRD is the platform stack's, applied first by tools.stacks)
            k8s.apply(pod_defaults, f"{name}-{team.name}", self, depends_on=[team_context.namespace, crd])
            policy = render(
                "notebooks-team/NetworkPolicy.yaml.j2",
                ns=team.namespace,
                labels=team_labels,
                platform_namespace=ns,
                controller_selector=controller_selector,
                port=NOTEBOOK_PORT,
            )
            k8s.apply(policy, f"{name}-{team.name}", self, depends_on=[team_context.namespace])
        self.register_outputs({})

    def _platform(self, name: str, args: NotebooksArgs) -> pulumi.Resource:
        """The platform's objects; returns the PodDefault CRD (the teams' PodDefaults wait for it)."""
        platform = args.platform
        ns = platform.namespace
        images = platform.images
        configurations = [
            POD_DEFAULT_LABELS[k] for k in ("pipelines", "mlflow", "store") if k != "mlflow" or args.tracking
        ]
        jupyter_config = render(
            "notebooks/ConfigMap.yaml.j2",
            ns=ns,
            controller=workload(platform, CONTROLLER, "notebooks"),
            jupyter=workload(platform, JUPYTER, "notebooks"),
            culling=args.culling,
            images=spawner_images(images),
            configurations=configurations,
        )
        digests = {
            obj["metadata"]["name"]: hashlib.sha256(json.dumps(obj["data"], sort_keys=True).encode()).hexdigest()
            for obj in jupyter_config
        }
        controller = {
            **workload(platform, CONTROLLER, "notebooks"),
            "config_digest": digests[f"{CONTROLLER}-config"],
        }
        jupyter = {
            **workload(platform, JUPYTER, "notebooks", service=f"{JUPYTER}-service"),
            "config_digest": digests[f"{JUPYTER}-config"],
            "title": "Jupyter web app",
            "upstream": "jupyter",
            "prefix": "/jupyter",
        }
        volumes = {
            **workload(platform, VOLUMES, "notebooks", service=f"{VOLUMES}-service"),
            "config_digest": "",
            "title": "volumes web app",
            "upstream": "volumes",
            "prefix": "/volumes",
        }
        webhook = {
            **workload(platform, WEBHOOK, "notebooks", "poddefaults-webhook", service=f"{WEBHOOK}-service"),
            "port": WEBHOOK_PORT,
            "secret": f"{WEBHOOK}-certs",
        }
        served = webhook_certificates(
            name,
            "mlplatform poddefaults",
            ns,
            [(webhook["service"], webhook["secret"], webhook["labels"])],
            args.certificate_days,
            self,
        )
        workloads = [controller, jupyter, volumes, webhook]
        common = {"ns": ns, "controller": controller, "jupyter": jupyter, "volumes": volumes, "webhook": webhook}
        created = k8s.apply(
            [
                *render("notebooks/CustomResourceDefinition.yaml.j2", labels=controller["labels"]),
                *render("notebooks/ServiceAccount.yaml.j2", ns=ns, workloads=workloads),
                *render("notebooks/ClusterRole.yaml.j2", **common),
                *own_cluster_roles(workloads, ns),
                *jupyter_config,
                *served.secrets,
                *render("notebooks/Deployment.yaml.j2", userid_header=USERID_HEADER, **common),
                *render("notebooks/Service.yaml.j2", **common),
                *render(
                    "notebooks/PodDisruptionBudget.yaml.j2", ns=ns, budgets=[w for w in workloads if w["replicas"] > 1]
                ),
                admit_gateway(jupyter, WEB_APP_PORT, ns),
                admit_gateway(volumes, WEB_APP_PORT, ns),
                admit_api_server(webhook, WEBHOOK_PORT, ns, args.api_cidrs),
            ],
            name,
            self,
            depends_on=[platform.namespace_resource],
            options=k8s.retain_definitions,
        )
        # After its server (library/webhooks.py): it fails closed on every pod of every team namespace.
        k8s.apply(
            render("notebooks/MutatingWebhookConfiguration.yaml.j2", outputs={"ca_bundle": served.ca_bundle}, **common),
            name,
            self,
            depends_on=servers(created, ns),
        )
        return created[("CustomResourceDefinition", "", "poddefaults.kubeflow.org")]
