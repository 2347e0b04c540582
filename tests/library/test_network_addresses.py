"""Network boundaries as data: the API server's addresses from its EndpointSlice."""

from __future__ import annotations

import pytest

from library.network import api_blocks as _ip_blocks
from library.network import endpoint_cidrs


def test_endpoint_addresses_become_host_cidrs():
    endpoints = [
        {"addresses": ["172.18.0.3"], "conditions": {"ready": True}},
        {"addresses": ["172.18.0.2", "172.18.0.3"]},
        {"addresses": ["fd00::2"]},
        {},
    ]
    assert endpoint_cidrs(endpoints) == ["172.18.0.2/32", "172.18.0.3/32", "fd00::2/128"]
    assert endpoint_cidrs(None) == []


def test_no_address_is_refused_rather_than_opening_every_destination():
    # an empty `to` in a NetworkPolicy egress rule admits every destination
    with pytest.raises(ValueError, match="mlplatform:kubernetesApiCidrs"):
        _ip_blocks([])
    assert _ip_blocks(["10.0.0.1/32"]) == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
