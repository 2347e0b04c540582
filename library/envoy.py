"""Envoy configuration for the platform's proxies: static listeners in front of static clusters.

Each proxy (ML Metadata's gRPC-web front, the pipelines API gateway, the front door's gateway in
library/gateway.py) says what differs (ports, routes, filters, header removal, connection-manager
options, TLS, upstreams) and gets one YAML document for the image's `envoy -c`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import yaml

_MANAGER = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_HTTP_PROTOCOL = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
ADMIN_PORT = 9901
"""Envoy's admin interface, on loopback only."""


def http_filter(name: str, type_url: str, settings: Mapping[str, object] | None = None) -> dict:
    """An HTTP filter by its name, its typed config's `@type` and the config's other fields (if any)."""
    return {"name": name, "typed_config": {"@type": type_url, **(settings or {})}}


GRPC_WEB = http_filter(
    "envoy.filters.http.grpc_web", "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"
)
"""Translates gRPC-web (browsers) to gRPC."""
ROUTER = http_filter("envoy.filters.http.router", "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router")
"""Forwards requests along their route (always the last filter)."""


def listener(
    name: str,
    port: int,
    routes: Sequence[dict],
    *,
    codec: str = "AUTO",
    stat_prefix: str | None = None,
    route_name: str | None = None,
    virtual_host: str | None = None,
    remove_headers: Sequence[str] = (),
    normalize_path: bool = False,
    filters: Sequence[dict] = (ROUTER,),
    options: Mapping[str, object] | None = None,
    transport_socket: dict | None = None,
) -> dict:
    """A listener on all addresses at `port` with one HTTP connection manager and one virtual host
    answering every domain with `routes`. Names not given default to the listener's name.

    `remove_headers` are dropped from every request before routing; `normalize_path` routes on the
    normalised path with slashes merged, so that no other spelling of a path escapes a prefix match.
    `options` are further fields of the connection manager and `transport_socket` terminates TLS on the
    listener (neither is written when not given)."""
    manager: dict = {"@type": _MANAGER, "codec_type": codec, "stat_prefix": stat_prefix or name}
    if normalize_path:
        manager |= {"normalize_path": True, "merge_slashes": True}
    manager |= dict(options or {})
    route_config: dict = {"name": route_name or name}
    if remove_headers:
        route_config["request_headers_to_remove"] = list(remove_headers)
    route_config["virtual_hosts"] = [{"name": virtual_host or name, "domains": ["*"], "routes": list(routes)}]
    manager |= {"route_config": route_config, "http_filters": list(filters)}
    chain: dict = {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}
    if transport_socket:
        chain["transport_socket"] = transport_socket
    return {
        "name": name,
        "address": {"socket_address": {"address": "0.0.0.0", "port_value": port}},
        "filter_chains": [chain],
    }


def cluster(
    name: str,
    host: str,
    port: int,
    *,
    connect_timeout: str,
    dns: str = "STRICT_DNS",
    http2: bool = False,
    protocol_first: bool = False,
) -> dict:
    """An upstream cluster of one DNS name, balanced round robin; `http2` speaks HTTP/2 to it (gRPC).

    `protocol_first` puts the HTTP/2 options before the endpoints: Envoy reads both orders alike, and
    each proxy keeps the order its configuration always had, so that its ConfigMap (and the config
    digest on its pods) stays byte for byte what it was."""
    protocol = (
        {
            "typed_extension_protocol_options": {
                _HTTP_PROTOCOL: {
                    "@type": f"type.googleapis.com/{_HTTP_PROTOCOL}",
                    "explicit_http_config": {"http2_protocol_options": {}},
                }
            }
        }
        if http2
        else {}
    )
    address = {"socket_address": {"address": host, "port_value": port}}
    endpoints = {
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}]}
    }
    spec: dict = {"name": name, "connect_timeout": connect_timeout, "type": dns, "lb_policy": "ROUND_ROBIN"}
    return spec | protocol | endpoints if protocol_first else spec | endpoints | protocol


def forward_proxy_cluster(name: str, dns_cache: Mapping[str, object], *, connect_timeout: str) -> dict:
    """A dynamic forward proxy cluster: its upstream is the request's host (after the route's host
    rewrite), resolved through `dns_cache` when the request is routed (every cluster naming the same
    cache must give it the same settings)."""
    return {
        "name": name,
        "connect_timeout": connect_timeout,
        "lb_policy": "CLUSTER_PROVIDED",
        "cluster_type": {
            "name": "envoy.clusters.dynamic_forward_proxy",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig",
                "dns_cache_config": dict(dns_cache),
            },
        },
    }


def config(listeners: Sequence[dict], clusters: Sequence[dict]) -> str:
    """The whole static configuration, as YAML in the given order (the proxies hash it to restart on change)."""
    document = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": ADMIN_PORT}}},
        "static_resources": {"listeners": list(listeners), "clusters": list(clusters)},
    }
    # A round trip through JSON copies shared parts (the router filter), which YAML would otherwise
    # write as anchors and aliases.
    return yaml.safe_dump(json.loads(json.dumps(document)), sort_keys=False)
