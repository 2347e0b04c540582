"""Training: Kubeflow Trainer v2.1.0 and JobSet v0.10.1, so that teams run distributed training jobs
(TrainJobs) in their namespaces with the runtimes the platform installs.

Why Trainer v2 and not training-operator v1.9.2 (UPSTREAM-workbench sections 1.3, 1.4, 7):
- It is what Kubeflow installs now: kubeflow/manifests 26.03 `example/kustomization.yaml` installs
  Trainer v2.1.0 (with JobSet) and leaves training-operator commented out; Katib 0.19 launches
  trials as TrainJobs (its katib-config `trialResources` lists `TrainJob.v1alpha1.trainer.kubeflow.org`),
  and the Kubeflow SDK (`kubeflow.trainer`) submits TrainJobs.
- One user-facing kind (TrainJob naming a runtime) instead of six job kinds (TFJob, PyTorchJob,
  MPIJob, XGBoostJob, PaddleJob, JAXJob), and the runtimes hold the images, so the registry
  override reaches them from here.
- CRD size: upstream's v2 CRDs are 2.14 MB (trainjobs 311,644 bytes, the two runtime kinds
  912,859 and 912,874) plus JobSet's 780,609; v1's six are 646-682 KB each (~4 MB). Either way
  upstream's are too large for the state: ours (manifests/training/CustomResourceDefinition.yaml.j2)
  keep the defaults and CEL rules the controllers rely on in ~35 KB for all four.
- Webhooks: both projects rotate their own certificates by default (cert-controller: they write
  a Secret and the webhook configurations' caBundle). Both can be switched off: Trainer's
  `certManagement.enable: false`, JobSet's `internalCertManagement.enable: false`; then
  controller-runtime's webhook server reads tls.crt/tls.key from its default directory
  /tmp/k8s-webhook-server/serving-certs (kubeflow/trainer pkg/util/cert/cert.go names the same
  one) and reloads them, so the platform's certificates (library/certificates.py) serve, and
  neither controller may write Secrets for certificates or any webhook configuration.
  v2 costs two controllers (Trainer and JobSet) where v1 had one.

Everything runs in the platform namespace, as the kubeflow-platform overlay places it (upstream's
standalone install uses `kubeflow-system`; nothing in either controller needs that name once its
certificate management is off). Team members get upstream's `kubeflow-trainer-{admin,edit,view}`
rules (kubeflow/manifests 26.03) through the team roles: TrainJobs in their own namespaces only;
every signed-in identity may read the cluster's runtimes, as upstream binds it. A TrainJob's JobSet makes a
headless Service and pods in the team namespace, which talk to each other there (the team's
isolation policy admits same-namespace traffic); the runtime's pods meet `restricted` Pod Security.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

import pulumi

from inputs.settings import Settings
from library import k8s
from library.context import Needs, PlatformContext, Shared
from library.manifests import render
from library.webhooks import servers, webhook_certificates
from library.workloads import admit_api_server, own_cluster_roles, workload

TRAINER = "kubeflow-trainer-controller-manager"
"""The trainer's Deployment, ServiceAccount, ClusterRole and webhook Service (upstream's names)."""
JOBSET = "jobset-controller-manager"
"""JobSet's Deployment, ServiceAccount and ClusterRole."""
WEBHOOK_PORT = 9443
PROBE_PORT = 8081
RUNTIME = "torch-distributed"
"""The ClusterTrainingRuntime the platform installs (TrainJobs name it in `runtimeRef`)."""
RUNTIME_USER = 1000
"""The user the runtime's pods run as: `restricted` Pod Security refuses root, and the image has no user."""


@dataclass(frozen=True)
class TrainingArgs:
    """Inputs of the training controllers."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    api_cidrs: pulumi.Input[list[str]]
    """The API server's addresses: the only clients of the webhooks."""
    certificate_days: tuple[int, int]
    """Validity and renew-before days of the webhook certificates."""


class Training(pulumi.ComponentResource):
    """Kubeflow Trainer and JobSet in the platform namespace, their CRDs, webhooks and the runtimes."""

    crds: list[pulumi.Resource]
    """The trainer.kubeflow.org and jobset.x-k8s.io CustomResourceDefinitions."""

    slug: ClassVar[str] = "training"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = False

    @classmethod
    def needs(cls, settings: Settings) -> Needs | None:
        """Nothing per team (the team roles carry the rights); None when `mlplatform:training` is false."""
        return Needs() if settings.training else None

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Training:
        settings = shared.settings
        return cls(
            name,
            TrainingArgs(
                platform=shared.platform,
                api_cidrs=shared.api_cidrs,
                certificate_days=(settings.certificate_validity_days, settings.certificate_renew_before_days),
            ),
            opts,
        )

    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Training", name, None, opts)
        platform = args.platform
        ns = platform.namespace
        trainer = workload(
            platform, TRAINER, "training", service=TRAINER, config_map="kubeflow-trainer-config", command=None
        )
        jobset = workload(
            platform,
            JOBSET,
            "training",
            service="jobset-webhook-service",
            config_map="jobset-manager-config",
            command=["/manager"],
        )
        trainer["secret"], jobset["secret"] = "kubeflow-trainer-webhook-cert", "jobset-webhook-server-cert"
        controllers = [trainer, jobset]
        _, user_labels = k8s.workload_labels("training", "training")
        common = {
            "ns": ns,
            "trainer": trainer,
            "jobset": jobset,
            "controllers": controllers,
            "webhook_port": WEBHOOK_PORT,
            "probe_port": PROBE_PORT,
        }
        served = webhook_certificates(
            name,
            "mlplatform training webhooks",
            ns,
            [(c["service"], c["secret"], c["labels"]) for c in controllers],
            args.certificate_days,
            self,
        )
        # Each controller reads its file once at start (mounted with subPath, which never updates): a
        # digest of it in the pod template rolls the controller when its configuration changes.
        config = render("training/ConfigMap.yaml.j2", **common)
        for c in controllers:
            (data,) = [m["data"] for m in config if m["metadata"]["name"] == c["config_map"]]
            c["config_digest"] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        created = k8s.apply(
            [
                *render("training/CustomResourceDefinition.yaml.j2", labels=user_labels),
                *render("training/ServiceAccount.yaml.j2", **common),
                *render("training/ClusterRole.yaml.j2", user_labels=user_labels, **common),
                *own_cluster_roles(controllers, ns),
                *render("training/ClusterRoleBinding.yaml.j2", user_labels=user_labels),
                *render("training/Role.yaml.j2", **common),
                *render("training/RoleBinding.yaml.j2", **common),
                *served.secrets,
                *config,
                *render("training/Deployment.yaml.j2", **common),
                *render("training/Service.yaml.j2", **common),
                # Only the API server reaches the controllers (their webhooks); metrics are not collected.
                *(admit_api_server(c, WEBHOOK_PORT, ns, args.api_cidrs) for c in controllers),
                # Before the webhook configurations: the trainer's webhook validates runtimes too, and
                # the platform's own runtime need not wait for the controller to be up.
                *render(
                    "training/ClusterTrainingRuntime.yaml.j2",
                    labels=user_labels,
                    image=platform.images[RUNTIME],
                    run_as=RUNTIME_USER,
                ),
            ],
            name,
            self,
            depends_on=[platform.namespace_resource],
            options=k8s.retain_definitions,
        )
        self.crds = [r for (kind, _, _), r in created.items() if kind == "CustomResourceDefinition"]
        runtimes = [r for (kind, _, _), r in created.items() if kind == "ClusterTrainingRuntime"]
        bundle = {"ca_bundle": served.ca_bundle}
        # The webhooks answer once their servers are ready (failurePolicy Fail refuses every
        # request of their kinds until then).
        k8s.apply(
            [
                *render("training/ValidatingWebhookConfiguration.yaml.j2", outputs=bundle, **common),
                *render("training/MutatingWebhookConfiguration.yaml.j2", outputs=bundle, **common),
            ],
            name,
            self,
            depends_on=[*servers(created, ns), *runtimes],
        )
        self.register_outputs({})
