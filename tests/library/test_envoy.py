"""The Envoy config builder: one listener and cluster shape for every proxy."""

from __future__ import annotations

import yaml

from library import envoy


def test_listener_removes_headers_and_names_default_to_the_listener():
    listener = envoy.listener("api", 8888, [{"match": {"prefix": "/"}}], remove_headers=["kubeflow-userid"])
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert manager["stat_prefix"] == manager["route_config"]["name"] == "api"
    assert manager["route_config"]["request_headers_to_remove"] == ["kubeflow-userid"]
    assert manager["http_filters"] == [envoy.ROUTER] and "normalize_path" not in manager


def test_normalised_paths_merge_slashes():
    manager = envoy.listener("l", 1, [], normalize_path=True)["filter_chains"][0]["filters"][0]["typed_config"]
    assert manager["normalize_path"] is True and manager["merge_slashes"] is True


def test_cluster_key_order_is_kept_either_way():
    after = envoy.cluster("c", "h", 1, connect_timeout="1s", http2=True)
    first = envoy.cluster("c", "h", 1, connect_timeout="1s", http2=True, protocol_first=True)
    assert after == first
    assert list(after)[-1] == "typed_extension_protocol_options"
    assert list(first)[-1] == "load_assignment"
    assert "typed_extension_protocol_options" not in envoy.cluster("c", "h", 1, connect_timeout="1s")


def test_config_is_one_yaml_document():
    upstream = envoy.cluster("c", "h", 2, connect_timeout="1s")
    document = yaml.safe_load(envoy.config([envoy.listener("l", 1, [])], [upstream]))
    assert document["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": envoy.ADMIN_PORT}
    assert [c["name"] for c in document["static_resources"]["clusters"]] == ["c"]


def test_parts_shared_between_listeners_are_written_out_not_aliased():
    # Both listeners use the same router filter dict; YAML must not turn it into an anchor.
    route = [{"match": {"prefix": "/"}, "route": {"cluster": "c"}}]
    text = envoy.config([envoy.listener("a", 1, route), envoy.listener("b", 2, route)], [])
    assert "&id" not in text and "*id" not in text
    assert text.count("envoy.filters.http.router") == 2
