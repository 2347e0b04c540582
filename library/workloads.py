"""Workloads of the platform's components: what templates need of one, and who may connect to it.

`workload` gathers a workload's labels, image and size for the templates; `own_cluster_roles` binds
each workload's ServiceAccount to the ClusterRole of its name. `admit_api_server` and
`admit_gateway` are the two ingress policies most services of the platform need: a webhook server
called by the Kubernetes API server only, and a web app that trusts the `kubeflow-userid` header and
so must be reached through the front door's gateway only (which removes any client-sent identity and
sets the signed-in user's). Both come from one template, manifests/library/NetworkPolicy.yaml.j2.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from library import k8s
from library.context import PlatformContext
from library.manifests import render
from library.network import api_ip_blocks
from library.routes import gateway_peer


def workload(platform: PlatformContext, name: str, component: str, image: str | None = None, **extra) -> dict:
    """What the templates need of workload `name` of `component`: its selector and labels, its image and
    its size (`image`, the short name in manifests/images.yaml and sizes.yaml, defaults to `name`), and
    `extra` fields of the component's own."""
    selector, labels = k8s.workload_labels(name, component)
    sized = platform.sizing.of(image or name)
    return {
        "name": name,
        "selector": selector,
        "labels": labels,
        "image": platform.images[image or name],
        "resources": sized.resources,
        "scratch": sized.scratch,
        "replicas": sized.replicas,
        **extra,
    }


def own_cluster_roles(workloads: Sequence[dict], ns: str) -> list[dict]:
    """The bindings of each workload's ServiceAccount (in `ns`, named like it) to its own ClusterRole."""
    return render("library/ClusterRoleBinding.yaml.j2", workloads=list(workloads), ns=ns)


def admit_api_server(app: dict, port: int, ns: str, api_cidrs: pulumi.Input[Sequence[str]]) -> dict:
    """The policy of a webhook server: only the Kubernetes API server, from the addresses of its own
    EndpointSlice (default/kubernetes, read at every `pulumi up`) or mlplatform:kubernetesApiCidrs where
    it calls webhooks from other addresses (a managed control plane's), on the webhook port. (Health
    probes come from the kubelet, which policies do not filter.)"""
    peers = pulumi.Output.from_input(api_cidrs).apply(api_ip_blocks)
    return _policy(app, port, ns, peers)


def admit_gateway(app: dict, port: int, ns: str) -> dict:
    """The policy of a web app that trusts the `kubeflow-userid` header: only the front door's gateway."""
    return _policy(app, port, ns, [gateway_peer()])


def _policy(app: dict, port: int, ns: str, peers: pulumi.Input[list[dict]]) -> dict:
    (policy,) = render(
        "library/NetworkPolicy.yaml.j2",
        outputs={"peers": peers},
        app=app,
        port=port,
        ns=ns,
    )
    return policy
