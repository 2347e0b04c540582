"""Tuning: Katib v0.19.0 hyperparameter tuning (Experiments, Trials, Suggestions) for every team.

Upstream's `installs/katib-with-kubeflow` (kubeflow/katib v0.19.0, manifests/v1beta1), with these
differences:

* The database is the distribution's MySQL, with Katib's own schema and account (library/accounts.py),
  wired as upstream's `installs/katib-external-db` overlay does; no katib-mysql pod.
* The webhook certificate is the platform's (library/certificates.py), mounted where the controller's
  webhook server reads it (`/tmp/cert`, `consts.CertDir`; controller-runtime's certificate watcher picks
  up a renewed Secret). Katib's own generator (`init.certGenerator`) stays off, so the controller needs
  neither Secrets nor webhook configurations in its ClusterRole.
* Everything Katib starts in a team namespace meets its `restricted` Pod Security: the suggestion
  containers get a securityContext from katib-config, and the metrics collector copies the trial's
  first container's (`injectSecurityContext`). Early stopping is left out: its container is built with
  no securityContext at all (pkg/controller.v1beta1/suggestion/composer/composer.go), so its pods would
  be refused; an Experiment asking for it is refused by the validating webhook instead of hanging.
* The pod webhook is called only for pods owned by a kind that trial pods have as owner (matchConditions),
  not for every pod of a team namespace: when the controller is down, only trial-like pods wait.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from components.training import Training
from inputs.settings import Settings
from library import k8s
from library.accounts import account_objects
from library.context import Needs, PlatformContext, Shared, TeamContext
from library.manifests import render
from library.network import Endpoint
from library.routes import Route
from library.services import Database
from library.webhooks import servers, webhook_certificates
from library.workloads import admit_api_server, admit_gateway, own_cluster_roles, workload

CONTROLLER = "katib-controller"
"""The controller and webhook server (the name the webhook configurations and the pod webhook's
exclusion of its own ServiceAccount use)."""
DB_MANAGER = "katib-db-manager"
"""The gRPC service in front of the observation logs; Katib dials `katib-db-manager.<core namespace>:6789`
(pkg/common/v1beta1/katib_manager_util.go GetDBManagerAddr)."""
UI = "katib-ui"
WEBHOOK_PORT = 8443
DB_MANAGER_PORT = 6789
SUGGESTION_PORT = 6789
"""Where the controller calls a suggestion's gRPC service (consts.DefaultSuggestionPort)."""
UI_PORT = 8080
DATABASE = "katib"
WEBHOOK_SECRET = "katib-webhook-cert"
NAMESPACE_LABELS = {"katib.kubeflow.org/metrics-collector-injection": "enabled"}
"""The label selecting the namespaces whose trial pods get a metrics collector (the pod webhook's
namespaceSelector, manifests/v1beta1/components/webhook/webhooks.yaml)."""
UI_ROUTE = Route("/katib/", "katib-ui", None, 80)
"""The UI, served under `/katib/` with the path kept (upstream's VirtualService, UPSTREAM-workbench 1.2)."""
DB_MANAGER_ENDPOINT = Endpoint(DB_MANAGER, k8s.workload_labels(DB_MANAGER, "tuning")[0], (DB_MANAGER_PORT,))
"""Trial pods' metrics collectors report to the db-manager."""
TRIAL_RESOURCES = ("Job.v1.batch",)
"""What a trial template may create besides a TrainJob: Kubernetes Jobs. (Upstream's katib-config also lists
training-operator v1's TFJob, PyTorchJob, MPIJob and XGBoostJob, whose CRDs the platform does not install.)
A trial pod's direct owner is a Job: the pod webhook is called for those only."""
TRAINJOB = "TrainJob.v1alpha1.trainer.kubeflow.org"
"""Trials as TrainJobs, with Training on (listed first, as katib-standalone v0.19.0's katib-config has it)."""
SUGGESTIONS = {
    # algorithm -> (image name in manifests/images.yaml, memory limit or None); upstream's katib-config
    "random": ("katib-suggestion-hyperopt", None),
    "tpe": ("katib-suggestion-hyperopt", None),
    "grid": ("katib-suggestion-optuna", None),
    "hyperband": ("katib-suggestion-hyperband", None),
    "bayesianoptimization": ("katib-suggestion-skopt", None),
    "cmaes": ("katib-suggestion-goptuna", None),
    "sobol": ("katib-suggestion-goptuna", None),
    "multivariate-tpe": ("katib-suggestion-optuna", None),
    "enas": ("katib-suggestion-enas", "400Mi"),
    "darts": ("katib-suggestion-darts", None),
    "pbt": ("katib-suggestion-pbt", None),
}


def trials(shared: Shared) -> dict:
    """Trial kinds beyond Jobs: TrainJobs when Training is on (built earlier, in the platform's stack)."""
    if not shared.platform_part or Training.needs(shared.settings) is None:
        return {}
    return {"trial_resources": (TRAINJOB, *TRIAL_RESOURCES), "trial_crds": shared.component(Training).crds}


@dataclass(frozen=True)
class TuningArgs:
    """Inputs of Katib."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    database: Database
    """The distribution's MySQL server; the db-manager gets its own schema and account."""
    teams: Sequence[TeamContext]
    """Teams whose namespaces run suggestions (the controller must reach them)."""
    api_cidrs: pulumi.Input[Sequence[str]]
    """The API server's addresses, admitted to the webhook port."""
    certificate_days: tuple[int, int] = (365, 30)
    """Validity and renew-before days of the webhook certificate."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Backing services to wait for."""
    trial_resources: tuple[str, ...] = TRIAL_RESOURCES
    """What trial templates may create (katib-config `trialResources`)."""
    trial_crds: Sequence[pulumi.Resource] = ()
    """CRDs of those kinds the controller must find at start (it skips a kind without its CRD until restarted)."""
    platform_part: bool = True
    """Register the platform's own objects (False in a team's stack, which holds only the team's part)."""


class Tuning(pulumi.ComponentResource):
    """Katib v0.19.0: CRDs, controller with admission webhooks, db-manager, UI, and per team the policy
    letting the controller reach the team's suggestion services."""

    slug: ClassVar[str] = "tuning"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = True

    @classmethod
    def needs(cls, settings: Settings) -> Needs | None:
        """Team namespaces carry the metrics-collector label, team pods reach the db-manager, and the UI is
        at `/katib/`."""
        if not settings.tuning:
            return None
        return Needs(
            team_labels=NAMESPACE_LABELS,
            team_endpoints=lambda team: (DB_MANAGER_ENDPOINT,),
            routes=(UI_ROUTE,),
        )

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Tuning:
        settings = shared.settings
        return cls(
            name,
            TuningArgs(
                platform=shared.platform,
                database=shared.database,
                teams=shared.teams,
                api_cidrs=shared.api_cidrs,
                certificate_days=(settings.certificate_validity_days, settings.certificate_renew_before_days),
                depends_on=shared.ready,
                platform_part=shared.platform_part,
                **trials(shared),
            ),
            opts,
        )

    def __init__(self, name: str, args: TuningArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Tuning", name, None, opts)
        platform = args.platform
        ns = platform.namespace
        workloads = {w: workload(platform, w, "tuning") for w in (CONTROLLER, DB_MANAGER, UI)}
        controller = workloads[CONTROLLER]
        if args.platform_part:
            self._platform_objects(name, args, workloads)
        for team_context in args.teams:
            team_ns = team_context.spec.namespace
            k8s.apply(
                render(
                    "tuning-team/NetworkPolicy.yaml.j2",
                    ns=team_ns,
                    labels=controller["labels"],
                    platform_namespace=ns,
                    controller=controller["selector"],
                    port=SUGGESTION_PORT,
                ),
                f"{name}-{team_context.name}",
                self,
                depends_on=[team_context.namespace],
            )
        self.register_outputs({})

    def _platform_objects(self, name: str, args: TuningArgs, workloads: dict[str, dict]) -> None:
        platform = args.platform
        ns = platform.namespace
        images = platform.images
        controller, db_manager, ui = workloads[CONTROLLER], workloads[DB_MANAGER], workloads[UI]
        served = webhook_certificates(
            name,
            "mlplatform katib",
            ns,
            [(CONTROLLER, WEBHOOK_SECRET, controller["labels"])],
            args.certificate_days,
            self,
        )
        account, setup = account_objects(
            DB_MANAGER, name, platform, args.database, [DATABASE], db_manager["labels"], self
        )
        ready = k8s.apply(
            setup, f"{name}-db", self, depends_on=[platform.namespace_resource], pods_wait_for=args.depends_on
        )
        suggestions = [
            {"algorithm": algorithm, "image": images[image], "memory": memory}
            for algorithm, (image, memory) in SUGGESTIONS.items()
        ]
        config = render(
            "tuning/ConfigMap.yaml.j2",
            ns=ns,
            labels=controller["labels"],
            webhook_port=WEBHOOK_PORT,
            trial_resources=list(args.trial_resources),
            suggestions=suggestions,
            file_collector=images["katib-file-metrics-collector"],
            tfevent_collector=images["katib-tfevent-metrics-collector"],
            trial_image=images["katib-pytorch-mnist-cpu"],
            template_labels={**controller["labels"], "katib.kubeflow.org/component": "trial-templates"},
        )
        katib_config = next(c for c in config if c["metadata"]["name"] == "katib-config")
        digest = hashlib.sha256(katib_config["data"]["katib-config.yaml"].encode()).hexdigest()
        owner_kinds = sorted({r.split(".")[0] for r in TRIAL_RESOURCES})  # (a TrainJob's pods: its Jobs')
        webhook = {
            "service": CONTROLLER,
            "ns": ns,
            "labels": controller["labels"],
            "controller_user": f"system:serviceaccount:{ns}:{CONTROLLER}",
            "owner_kinds": owner_kinds,
            "namespace_labels": NAMESPACE_LABELS,
        }
        common = {"ns": ns, "controller": controller, "db_manager": db_manager, "ui": ui}
        created = k8s.apply(
            [
                *render("tuning/CustomResourceDefinition.yaml.j2", labels=controller["labels"]),
                *render("tuning/ServiceAccount.yaml.j2", **common),
                *render("tuning/ClusterRole.yaml.j2", **common),
                *own_cluster_roles([controller, ui], ns),
                *config,
                *served.secrets,
                *render(
                    "tuning/Deployment.yaml.j2",
                    config_digest=digest,
                    webhook_secret=WEBHOOK_SECRET,
                    webhook_port=WEBHOOK_PORT,
                    db_secret=account.secret,
                    db_port=DB_MANAGER_PORT,
                    ui_port=UI_PORT,
                    **common,
                ),
                *render("tuning/Service.yaml.j2", webhook_port=WEBHOOK_PORT, ui_port=UI_PORT, **common),
                admit_api_server(controller, WEBHOOK_PORT, ns, args.api_cidrs),
                admit_gateway(ui, UI_PORT, ns),
                *render("tuning/NetworkPolicy.yaml.j2", db_port=DB_MANAGER_PORT, **common),
            ],
            name,
            self,
            depends_on=[platform.namespace_resource],
            options=k8s.retain_definitions,
            pods_wait_for=[*args.depends_on, *ready.values(), *args.trial_crds],
        )
        # Registered once the controller serves them (and removed before it goes): with failurePolicy Fail, a
        # webhook without its server refuses every Experiment and trial pod.
        k8s.apply(
            [
                *render("tuning/ValidatingWebhookConfiguration.yaml.j2", outputs={"ca": served.ca_bundle}, **webhook),
                *render("tuning/MutatingWebhookConfiguration.yaml.j2", outputs={"ca": served.ca_bundle}, **webhook),
            ],
            name,
            self,
            depends_on=servers(created, ns),
        )
