"""Dashboard: Kubeflow's central dashboard v1.10 on `/`, and kfam, which tells it whose namespaces are whose.

The dashboard asks kfam (access management) for the signed-in person's bindings; kfam answers from
the Profiles (one per team, written here, inert: no profile controller runs) and the team
RoleBindings that carry `user`/`role` annotations (components/profiles.py). So a person sees
exactly the teams whose profile files name them. Contributors are managed as code: kfam may not
write (its RBAC), registration is off, and the README says to edit the profile file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import pulumi

from components.signin import SignIn
from components.tracking import Tracking, ui_prefix
from inputs.profile import TeamSpec
from inputs.settings import Settings
from library import k8s
from library.context import Needs, PlatformContext, Shared
from library.manifests import render
from library.routes import USERID_HEADER, Route, gateway_peer

DASHBOARD = "centraldashboard"
"""The dashboard's Deployment, Service and ServiceAccount (the name upstream's gateway routes `/` to)."""
DASHBOARD_PORT = 8082
KFAM = "profiles-kfam"
"""kfam's Deployment, Service and ServiceAccount (the dashboard's default PROFILES_KFAM_SERVICE_HOST)."""
KFAM_PORT = 8081
CONFIG_MAP = "centraldashboard-config"
"""The dashboard's links and settings (DASHBOARD_CONFIGMAP)."""
EVENTS_ROLE = "centraldashboard-events"
"""What the dashboard may read in a team namespace: its events (the activity view)."""
ROUTE = Route("/", DASHBOARD, None, 80)
"""The dashboard on the platform's address, as upstream routes it (UPSTREAM-workbench 1.2): its pages,
its API (`/api/...`) and the `dashboard_lib.bundle.js` every Kubeflow web app loads from the site root."""
ALL_ROLES = ("admin", "edit", "view")


def activities_route(team: str) -> Route:
    """A team namespace's events in the dashboard's activity view (`/api/activities/<ns>`), for the team's
    members only: the dashboard's server checks no user there (app/api.ts, v1.10.0)."""
    return Route(f"/api/activities/{team}/", DASHBOARD, None, 80, team=team, roles=ALL_ROLES)


MENU = (
    (
        "/pipeline",
        {
            "type": "section",
            "text": "Pipelines",
            "icon": "kubeflow:pipeline-centered",
            "items": [
                {"type": "item", "text": text, "link": f"/pipeline/#/{page}"}
                for text, page in (
                    ("Pipelines", "pipelines"),
                    ("Experiments", "experiments"),
                    ("Runs", "runs"),
                    ("Recurring Runs", "recurringruns"),
                    ("Artifacts", "artifacts"),
                    ("Executions", "executions"),
                )
            ],
        },
    ),
    # Notebooks (components/notebooks.py)
    ("/jupyter/", {"type": "item", "text": "Notebooks", "icon": "book", "link": "/jupyter/"}),
    ("/volumes/", {"type": "item", "text": "Volumes", "icon": "device:storage", "link": "/volumes/"}),
    # Katib (components/tuning.py)
    ("/katib/", {"type": "item", "text": "Katib Experiments", "icon": "kubeflow:katib", "link": "/katib/"}),
    # KServe's models web app (components/serving.py)
    (
        "/kserve-endpoints/",
        {"type": "item", "text": "KServe Endpoints", "icon": "kubeflow:models", "link": "/kserve-endpoints/"},
    ),
)
"""Menu entries as upstream's links ConfigMap has them (kubeflow/manifests 26.03
applications/centraldashboard/upstream/base/configmap.yaml), each shown when a component serves its path."""

MANAGED_AS_CODE = {
    "text": "Team members are managed as code",
    "desc": "Owners, members and roles come from each team's profile file (profiles/<team>.yaml), applied by"
    " `pulumi up`; contributors cannot be added or removed in the dashboard. (Kubeflow's page describes its"
    " profile controller, which does not run here.)",
    "link": "https://www.kubeflow.org/docs/components/central-dash/profiles/",
}


def tracking_link() -> str:
    """The chosen namespace's MLflow UI: the dashboard puts the namespace for `{ns}` (public/components/
    main-page.js), and a team's namespace is its name, so this is Tracking's `ui_route` of that team."""
    return f"{ui_prefix('{ns}')}/"


def links(served: set[str], tracking: bool) -> dict:
    """The dashboard's menu: every installed component's pages, and the chosen team's MLflow."""
    menu = [entry for prefix, entry in MENU if prefix in served]
    if tracking:
        menu.append(
            {"type": "item", "text": "Experiment Tracking (MLflow)", "icon": "assessment", "link": tracking_link()}
        )
    quick = (
        [{"text": "View Pipeline Runs", "desc": "Pipelines", "link": "/pipeline/#/runs"}]
        if "/pipeline" in served
        else []
    )
    return {"menuLinks": menu, "externalLinks": [], "quickLinks": quick, "documentationItems": [MANAGED_AS_CODE]}


def environment(sign_out: str, namespace: str) -> list[dict]:
    """The dashboard's environment (UPSTREAM-workbench 3.1)."""
    values = {
        "USERID_HEADER": USERID_HEADER,
        "USERID_PREFIX": "",
        "PROFILES_KFAM_SERVICE_HOST": f"{KFAM}.{namespace}",
        "PROFILES_KFAM_SERVICE_PORT": str(KFAM_PORT),
        "REGISTRATION_FLOW": "false",
        "DASHBOARD_CONFIGMAP": CONFIG_MAP,
        "LOGOUT_URL": sign_out,
        "COLLECT_METRICS": "false",
        "npm_config_cache": "/tmp/.npm",
        "npm_config_update_notifier": "false",
    }
    return [
        *({"name": k, "value": v} for k, v in values.items()),
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]


@dataclass(frozen=True)
class DashboardArgs:
    """Inputs of the dashboard and kfam."""

    platform: PlatformContext
    """Platform namespace, sizing and images."""
    teams: Sequence[TeamSpec]
    """The teams this stack registers: each gets its Profile and the dashboard's events binding."""
    team_namespaces: Sequence[pulumi.Resource] = ()
    """Those teams' Namespaces, to wait for."""
    links: dict = field(default_factory=dict)
    """The dashboard's menu (`links`)."""
    sign_out: str = "/oauth2/sign_out"
    """Where the dashboard's sign-out button goes (oauth2-proxy's sign-out)."""
    platform_part: bool = True
    """Register the platform's objects (False in a team's stack: its Profile and binding only)."""


class Dashboard(pulumi.ComponentResource):
    """The central dashboard and kfam in the platform namespace, the Profile CRD, one Profile per team."""

    slug: ClassVar[str] = "dashboard"
    namespaces: ClassVar[tuple[str, ...]] = ()
    per_team: ClassVar[bool] = True

    @classmethod
    def needs(cls, settings: Settings) -> Needs:
        """`/` for everyone signed in; each team namespace's activity view for its members only."""
        return Needs(routes=(ROUTE,), team_routes=lambda team: (activities_route(team.name),))

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> Dashboard:
        served = {route.prefix for needs in shared.needs for route in needs.routes}
        return cls(
            name,
            DashboardArgs(
                platform=shared.platform,
                teams=[t.spec for t in shared.teams],
                team_namespaces=[t.namespace for t in shared.teams],
                links=links(served, Tracking.needs(shared.settings) is not None),
                sign_out=shared.component(SignIn).sign_out_path if shared.platform_part else "",
                platform_part=shared.platform_part,
            ),
            opts,
        )

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:Dashboard", name, None, opts)
        platform = args.platform
        ns = platform.namespace
        dashboard = self._workload(platform, DASHBOARD, DASHBOARD_PORT, 80, env=environment(args.sign_out, ns))
        kfam = self._workload(
            platform,
            KFAM,
            KFAM_PORT,
            KFAM_PORT,
            # kfam/main.go flags: no cluster admin (nobody sees every team), the gateway's header, no prefix.
            command=["/access-management", "-cluster-admin", "", "-userid-header", USERID_HEADER, "-userid-prefix", ""],
        )
        common = {"ns": ns, "dashboard": dashboard, "kfam": kfam, "config_map": CONFIG_MAP, "events_role": EVENTS_ROLE}
        crd = None
        if args.platform_part:
            created = k8s.apply(
                [
                    *render("dashboard/CustomResourceDefinition.yaml.j2", labels=kfam["labels"]),
                    *render("dashboard/ServiceAccount.yaml.j2", **common),
                    *render(
                        "dashboard/ConfigMap.yaml.j2",
                        settings=json.dumps({"DASHBOARD_FORCE_IFRAME": True}),
                        links=json.dumps(args.links, indent=2),
                        **common,
                    ),
                    *render("dashboard/ClusterRole.yaml.j2", **common),
                    *render("dashboard/ClusterRoleBinding.yaml.j2", **common),
                    *render("dashboard/Role.yaml.j2", **common),
                    *render(
                        "dashboard/RoleBinding.yaml.j2",
                        bindings=[{"name": DASHBOARD, "ns": ns, "kind": "Role", "role": DASHBOARD}],
                        labels=dashboard["labels"],
                        account=DASHBOARD,
                        ns=ns,
                    ),
                    *render("dashboard/Deployment.yaml.j2", **common),
                    *render("dashboard/Service.yaml.j2", **common),
                    *render("dashboard/NetworkPolicy.yaml.j2", front_door=gateway_peer(), **common),
                ],
                name,
                self,
                depends_on=[platform.namespace_resource],
            )
            crd = created[("CustomResourceDefinition", "", "profiles.kubeflow.org")]
        for team, namespace in zip(args.teams, args.team_namespaces, strict=True):
            labels = {
                "app.kubernetes.io/component": "dashboard",
                "app.kubernetes.io/part-of": "mlplatform",
                "mlplatform.io/team": team.namespace,
            }
            k8s.apply(
                [
                    *render("dashboard/Profile.yaml.j2", ns=team.namespace, owner=team.owner, labels=labels),
                    *render(
                        "dashboard/RoleBinding.yaml.j2",
                        bindings=[
                            {"name": EVENTS_ROLE, "ns": team.namespace, "kind": "ClusterRole", "role": EVENTS_ROLE}
                        ],
                        labels=labels,
                        account=DASHBOARD,
                        ns=ns,
                    ),
                ],
                f"{name}-{team.name}",
                self,
                # (in a team's stack the CRD is the platform stack's, applied first by tools.stacks)
                depends_on=[crd, namespace],
            )
        self.register_outputs({})

    @staticmethod
    def _workload(platform: PlatformContext, name: str, port: int, service_port: int, **extra) -> dict:
        """What the templates need of the dashboard or kfam."""
        selector, labels = k8s.workload_labels(name, "dashboard")
        sized = platform.sizing.of(name)
        return {
            "name": name,
            "selector": selector,
            "labels": labels,
            "image": platform.images["central-dashboard" if name == DASHBOARD else "kfam"],
            "replicas": sized.replicas,
            "resources": sized.resources,
            "scratch": sized.scratch,
            "port": port,
            "service_port": service_port,
            **extra,
        }
