"""Workflows: the Argo Workflows engine that runs pipeline steps as pods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pulumi

from inputs.settings import Settings
from library import k8s
from library.context import Needs, PlatformContext, Shared
from library.manifests import render
from library.object_store import artifact_repository, team_prefix
from library.services import ObjectStore


@dataclass(frozen=True)
class WorkflowsArgs:
    """Inputs of the workflow engine."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    object_store: ObjectStore
    """Where step artifacts and logs go by default."""


class Workflows(pulumi.ComponentResource):
    """Argo Workflows v3.7: CRDs, the cluster-wide workflow controller and its RBAC.

    Team namespaces get their own artifact repository from the Pipelines component; this
    controller-level default keeps each namespace's artifacts under `private-artifacts/<namespace>/`.
    """

    crds: list[pulumi.Resource]
    """The argoproj.io CustomResourceDefinitions, for resources that create workflows."""

    slug: ClassVar[str] = "workflows"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = False

    @classmethod
    def needs(cls, settings: Settings) -> Needs:
        """Nothing per team: the Pipelines component gives each team its artifact repository."""
        return Needs()

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Workflows:
        return cls(name, WorkflowsArgs(platform=shared.platform, object_store=shared.object_store), opts)

    def __init__(self, name: str, args: WorkflowsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Workflows", name, None, opts)
        platform = args.platform
        ns = platform.namespace
        selector, labels = k8s.workload_labels("workflow-controller", "workflows")
        common = {"ns": ns, "labels": labels, "selector": selector}
        created = k8s.apply(
            [
                *render("workflows/CustomResourceDefinition.yaml.j2", labels=labels),
                *render("workflows/ServiceAccount.yaml.j2", **common),
                *render("workflows/ClusterRole.yaml.j2", **common),
                *render("workflows/ClusterRoleBinding.yaml.j2", **common),
                *render("workflows/Role.yaml.j2", **common),
                *render("workflows/RoleBinding.yaml.j2", **common),
                *render("workflows/PriorityClass.yaml.j2", **common),
                *render(
                    "workflows/ConfigMap.yaml.j2",
                    artifact_repository=artifact_repository(
                        args.object_store,
                        team_prefix("{{workflow.namespace}}"),
                        args.object_store.credentials_secret,
                    ),
                    **common,
                ),
                *render(
                    "workflows/Deployment.yaml.j2",
                    image=platform.images["argo-workflow-controller"],
                    executor_image=platform.images["argo-exec"],
                    resources=platform.sizing.of("workflow-controller").resources,
                    **common,
                ),
                *render("workflows/NetworkPolicy.yaml.j2", **common),
            ],
            name,
            self,
            depends_on=[platform.namespace_resource],
        )
        self.crds = [r for (kind, _, _), r in created.items() if kind == "CustomResourceDefinition"]
        self.register_outputs({})
