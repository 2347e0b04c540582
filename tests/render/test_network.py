"""Who can reach whom: the rendered NetworkPolicies evaluated over the rendered pods and namespaces.

Every platform connection below is one a component makes by its configuration (the env and
settings named in the comments); anything else must be refused.
"""

from __future__ import annotations

import pytest

from components.platform import PLATFORM_NAMESPACE as NS
from components.tracking import NAMESPACE as TRACKING
from library.routes import GATEWAY_NAMESPACE as GATEWAY
from tests.conftest import team
from tests.render.reachability import Address, Cluster
from tools.evaluate import MOCK_API_SERVER

TEAM_LABEL = "mlplatform.io/team"
METADATA = (Address("instance metadata", "169.254.169.254"), Address("instance metadata v6", "fd00:ec2::254"))
PRIVATE = Address("a private address", "10.1.2.3")
API = Address("the Kubernetes API server", MOCK_API_SERVER)
PUBLIC = Address("a public address", "93.184.216.34")


# A notebook server's pod as the notebook controller labels it (components/notebooks.py).
NOTEBOOK_POD = {"app": "notebook", "statefulset": "notebook", "notebook-name": "notebook"}
# A model's predictor pod as KServe's controller labels it in Standard mode (components/serving.py).
PREDICTOR_POD = {"serving.kserve.io/inferenceservice": "model", "component": "predictor", "app": "isvc.model-predictor"}


def world(objects) -> Cluster:
    """The rendered cluster plus stand-ins: the cluster DNS, a notebook in every team namespace,
    and a namespace (not a team's) that copies a team namespace's labels."""
    cluster = Cluster()
    cluster.add_objects(objects)
    cluster.add_namespace("kube-system")
    cluster.add_pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, [(53, "UDP"), (53, "TCP")])
    for name in teams_of(cluster):
        cluster.add_pod(name, "notebook", NOTEBOOK_POD, [(8888,)])
        # what Katib's controller creates for an Experiment (util/labels.go SuggestionLabels)
        cluster.add_pod(name, "suggestion", {"katib.kubeflow.org/suggestion": "random"}, [(6789,)])
        cluster.add_pod(name, "predictor", PREDICTOR_POD, [(8080,)])
    copied = dict(cluster.namespaces[teams_of(cluster)[0]])
    cluster.add_namespace("intruder", copied)
    cluster.add_pod("intruder", "intruder", {"app": "notebook"}, [(8888,)])
    return cluster


def teams_of(cluster: Cluster) -> list[str]:
    return sorted(n for n, labels in cluster.namespaces.items() if TEAM_LABEL in labels and n != "intruder")


def platform_needs(teams: list[str]) -> set[tuple[str, str, int]]:
    """(client, server, port) of every connection between pods of the platform namespace."""
    needs = {
        # API server: DBCONFIG_* (its account), METADATA_GRPC_SERVICE_*, OBJECTSTORECONFIG_*
        ("ml-pipeline", "mysql", 3306),
        ("ml-pipeline", "metadata-grpc-deployment", 8080),
        ("ml-pipeline", "seaweedfs", 8333),
        # ML Metadata: its account; Envoy's one upstream cluster
        ("metadata-grpc-deployment", "mysql", 3306),
        ("metadata-envoy-deployment", "metadata-grpc-deployment", 8080),
        # UI: ML_PIPELINE_SERVICE_* (HTTP), METADATA_ENVOY_SERVICE_*, MINIO_*
        ("ml-pipeline-ui", "ml-pipeline", 8888),
        ("ml-pipeline-ui", "metadata-envoy-deployment", 9090),
        ("ml-pipeline-ui", "seaweedfs", 8333),
        # gateway: its Envoy clusters api_http and api_grpc
        ("ml-pipeline-gateway", "ml-pipeline", 8888),
        ("ml-pipeline-gateway", "ml-pipeline", 8887),
        # controllers: KFP 2.16's default --mlPipelineAPIServerName ml-pipeline (the gateway)
        ("ml-pipeline-persistenceagent", "ml-pipeline-gateway", 8888),
        ("ml-pipeline-persistenceagent", "ml-pipeline-gateway", 8887),
        ("ml-pipeline-scheduledworkflow", "ml-pipeline-gateway", 8887),
        # dashboard: PROFILES_KFAM_SERVICE_HOST/PORT (its only backend besides the Kubernetes API)
        ("centraldashboard", "profiles-kfam", 8081),
        # setup Jobs: the admin Secret's host and port
        ("ml-pipeline-db-setup", "mysql", 3306),
        ("metadata-db-setup", "mysql", 3306),
        # Katib: the db-manager's account (KATIB_MYSQL_DB_*); the controller and the UI read observation
        # logs from katib-db-manager.<namespace>:6789 (GetDBManagerAddr)
        ("katib-db-manager-db-setup", "mysql", 3306),
        ("katib-db-manager", "mysql", 3306),
        ("katib-controller", "katib-db-manager", 6789),
        ("katib-ui", "katib-db-manager", 6789),
    }
    for name in teams:
        needs |= {
            (f"mlflow-{name}-db-setup", "mysql", 3306),
            (f"s3-identity-{name}", "seaweedfs", 8888),  # the identity Job writes into the filer
        }
    return needs


@pytest.fixture(scope="module")
def cluster(platform) -> Cluster:
    return world(r.object for r in platform.objects)


def test_the_world_is_what_was_rendered(cluster):
    assert len(teams_of(cluster)) == 3
    assert {"mysql", "seaweedfs", "ml-pipeline", "ml-pipeline-db-setup"} <= {p.name for p in cluster.in_namespace(NS)}


def test_teams_cannot_reach_each_other(cluster):
    for a in teams_of(cluster):
        for b in teams_of(cluster):
            if a != b:
                for pod in cluster.in_namespace(a):
                    assert cluster.reachable(pod, cluster.in_namespace(b)) == set(), (a, b)


def test_a_namespace_with_a_teams_labels_reaches_nothing(cluster):
    intruder = cluster.pod("intruder", "intruder")
    # (the front door's gateway is the entry: anyone reaches it, and it decides who passes)
    targets = [p for p in cluster.pods if p.namespace not in ("intruder", "kube-system", GATEWAY)]
    assert cluster.reachable(intruder, targets) == set()


def test_team_pods_reach_only_the_platform_services_teams_use(cluster):
    for name in teams_of(cluster):
        expected = {
            (NS, "ml-pipeline-gateway", 8888),
            (NS, "ml-pipeline-gateway", 8887),
            (NS, "metadata-grpc-deployment", 8080),
            (NS, "seaweedfs", 8333),
            (NS, "katib-db-manager", 6789),  # trial pods' metrics collectors
        }
        for pod in cluster.in_namespace(name):
            assert cluster.reachable(pod, cluster.in_namespace(NS)) == expected, pod
            assert cluster.reachable(pod, cluster.in_namespace(TRACKING)) == {(TRACKING, f"mlflow-{name}", 5000)}
            assert {t for _, t, _ in cluster.reachable(pod, cluster.in_namespace(name))} == {
                p.name for p in cluster.in_namespace(name) if p is not pod
            }


def test_platform_pods_reach_only_what_they_need(cluster):
    platform_pods = cluster.in_namespace(NS)
    allowed = {(src.name, dst, port) for src in platform_pods for _, dst, port in cluster.reachable(src, platform_pods)}
    assert allowed == platform_needs(teams_of(cluster))


def test_mlflow_servers_reach_only_the_database_and_the_store(cluster):
    servers = cluster.in_namespace(TRACKING)
    assert {p.name for p in servers} == {f"mlflow-{name}" for name in teams_of(cluster)}
    for pod in servers:
        assert cluster.reachable(pod, cluster.in_namespace(NS)) == {(NS, "mysql", 3306), (NS, "seaweedfs", 8333)}
        assert cluster.reachable(pod, [p for p in servers if p is not pod]) == set()
        for name in teams_of(cluster):
            assert cluster.reachable(pod, cluster.in_namespace(name)) == set()


def test_only_the_pipelines_ui_reaches_into_team_namespaces(cluster):
    for name in teams_of(cluster):
        allowed = {
            (src.name, dst, port)
            for src in cluster.in_namespace(NS)
            for _, dst, port in cluster.reachable(src, cluster.in_namespace(name))
        }
        # ARTIFACTS_SERVICE_PROXY_*: the UI proxies artifact reads to the team's own server; the notebook
        # controller reads each notebook's kernels (culling);
        # Katib's controller calls the suggestion services it creates.
        assert allowed == {
            ("ml-pipeline-ui", "ml-pipeline-ui-artifact", 3000),
            ("notebook-controller", "notebook", 8888),
            ("katib-controller", "suggestion", 6789),
        }, name


def test_team_egress_outside_the_cluster_reaches_only_the_api_server_by_default(cluster):
    dns = cluster.pod("kube-system", "coredns")
    for name in teams_of(cluster):
        pod = cluster.pod(name, "notebook")
        assert cluster.allows(pod, dns, 53, "UDP") and cluster.allows(pod, dns, 53, "TCP")
        for address in (*METADATA, PRIVATE, PUBLIC):
            for port in (80, 443, 6443, 3306):
                assert not cluster.allows(pod, address, port), (name, str(address), port)
        # the API server's address as its EndpointSlice publishes it (the mocks' read), on its ports only
        assert cluster.allows(pod, API, 443) and cluster.allows(pod, API, 6443)
        for port in (80, 3306, 10250):
            assert not cluster.allows(pod, API, port), (name, port)


def test_internet_egress_and_the_api_server_when_asked_for(evaluate):
    rendered = evaluate(
        {"a.yaml": team("alpha", internetEgress=True), "b.yaml": team("beta")},
        kubernetesApiCidrs='["10.9.0.1/32"]',
    )
    configured = Address("a configured API server", "10.9.0.1")
    cluster = world(r.object for r in rendered.objects)
    alpha, beta = cluster.pod("alpha", "notebook"), cluster.pod("beta", "notebook")
    assert cluster.allows(alpha, PUBLIC, 443) and cluster.allows(alpha, PUBLIC, 22)
    assert not cluster.allows(beta, PUBLIC, 443)
    for pod in (alpha, beta):
        assert cluster.allows(pod, configured, 6443) and cluster.allows(pod, configured, 443)
        assert not cluster.allows(pod, configured, 10250)  # a kubelet on the same address
        assert not cluster.allows(pod, API, 443)  # the setting replaces what the cluster publishes
        for address in (*METADATA, PRIVATE):
            assert not cluster.allows(pod, address, 80), (str(pod), str(address))
    assert cluster.reachable(alpha, cluster.in_namespace("beta")) == set()


def test_a_removed_team_reaches_nothing_and_nothing_reaches_it(evaluate, tmp_path):
    before = evaluate({"a.yaml": team("alpha"), "b.yaml": team("beta")})
    (tmp_path / "profiles" / "b.yaml").unlink()
    after = evaluate({"a.yaml": team("alpha")})
    left_behind = [
        r.object
        for r in before.objects
        if r.retain_on_delete and "beta" in (r.metadata.get("namespace"), r.metadata["name"])
    ]
    cluster = world([*(r.object for r in after.objects), *left_behind])
    assert (
        "beta" in cluster.namespaces and cluster.namespaces["beta"]["app.kubernetes.io/part-of"] == "kubeflow-profile"
    )
    gone = cluster.add_pod("beta", "notebook", NOTEBOOK_POD, [(8888,)])
    everything = [p for p in cluster.pods if p is not gone]
    assert cluster.reachable(gone, everything) == set()
    assert not cluster.allows(gone, cluster.pod("kube-system", "coredns"), 53, "UDP")
    for pod in everything:
        assert cluster.reachable(pod, [gone]) == set(), pod


def test_header_trusting_apps_admit_the_gateway_and_no_other_platform_pod(cluster):
    (door,) = cluster.in_namespace(GATEWAY)
    ui = cluster.pod(NS, "ml-pipeline-ui")
    servers = cluster.in_namespace(TRACKING)
    # what the gateway reaches: the apps its routes name, on their ports (and nothing in team namespaces)
    reached = cluster.reachable(door, [*cluster.in_namespace(NS), *servers])
    assert reached == {
        (NS, "ml-pipeline-ui", 3000),
        (NS, "metadata-envoy-deployment", 9090),
        (NS, "centraldashboard", 8082),
        (NS, "jupyter-web-app", 5000),
        (NS, "volumes-web-app", 5000),
        (NS, "katib-ui", 8080),
        (NS, "kserve-models-web-app", 5000),
        *((TRACKING, p.name, 5000) for p in servers),
    }
    for name in teams_of(cluster):  # in a team namespace, its notebook servers and model servers only
        expected = {(name, "notebook", 8888), (name, "predictor", 8080)}
        assert cluster.reachable(door, cluster.in_namespace(name)) == expected, name
    # the pipelines UI (which passes kubeflow-userid on) admits the gateway only
    others = [p for p in cluster.pods if p is not door]
    assert {str(p) for p in others if cluster.allows(p, ui, 3000)} == set()
    # an MLflow server admits its own team's pods and the gateway, nobody else
    for server in servers:
        team_name = server.name.removeprefix("mlflow-")
        admitted = {p.namespace for p in others if cluster.allows(p, server, 5000)}
        assert admitted == {team_name}, server


def test_the_dashboard_admits_the_gateway_and_kfam_the_dashboard_only(cluster):
    (door,) = cluster.in_namespace(GATEWAY)
    dashboard, kfam = cluster.pod(NS, "centraldashboard"), cluster.pod(NS, "profiles-kfam")
    # both trust kubeflow-userid; without it the dashboard shows every team's namespace
    assert {str(p) for p in cluster.pods if cluster.allows(p, dashboard, 8082)} == {str(door)}
    assert {str(p) for p in cluster.pods if cluster.allows(p, kfam, 8081)} == {str(dashboard)}
    assert not cluster.allows(door, kfam, 8081)  # /kfam/ is not routed, and the gateway could not reach it


def test_a_teams_model_servers_admit_its_own_pods_and_the_gateway_only(cluster):
    (door,) = cluster.in_namespace(GATEWAY)
    for name in teams_of(cluster):
        predictor = cluster.pod(name, "predictor")
        admitted = {str(p) for p in cluster.pods if p is not predictor and cluster.allows(p, predictor, 8080)}
        assert admitted == {str(door), *(str(p) for p in cluster.in_namespace(name) if p is not predictor)}, name
