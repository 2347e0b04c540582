"""The entry settings: Ingress or LoadBalancer, the Ingress class and annotations, the TLS Secret."""

from __future__ import annotations

import json

import pytest

from inputs import settings
from inputs.entry import Entry, EntryMode
from inputs.errors import InputError


def load(**raw):
    return settings.load({f"mlplatform:{k}": v for k, v in raw.items()}, "Pulumi.dev.yaml").entry


def test_default_is_an_ingress_of_the_default_class_with_a_generated_certificate():
    assert load() == Entry(mode=EntryMode.INGRESS, ingress_class="", ingress_annotations={}, tls_secret="")
    declared = settings.declared_config()
    assert declared["entry"]["default"] == "ingress" and declared["ingressAnnotations"]["type"] == "object"


def test_ingress_class_annotations_and_secret():
    annotations = {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
        "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
    }
    # the engine hands a map over as JSON; a test or the render tool may pass the map itself
    for given in (json.dumps(annotations), annotations):
        entry = load(ingressClassName="alb", ingressAnnotations=given, tlsSecret="ml-example-com")
        assert entry.ingress_class == "alb" and entry.ingress_annotations == annotations
        assert entry.tls_secret == "ml-example-com"


def test_load_balancer():
    assert load(entry="loadBalancer").mode is EntryMode.LOAD_BALANCER


def test_unknown_mode():
    with pytest.raises(InputError) as caught:
        load(entry="nodePort")
    assert str(caught.value) == (
        "Pulumi.dev.yaml: key 'mlplatform:entry': 'nodePort' is not allowed; allowed: ingress, loadBalancer"
    )


@pytest.mark.parametrize("name", ["Nginx", "nginx_class", "-alb", "a" * 254])
def test_bad_ingress_class(name):
    with pytest.raises(InputError, match=r"key 'mlplatform:ingressClassName'.*is not an IngressClass name"):
        load(ingressClassName=name)


@pytest.mark.parametrize(
    "given, problem",
    [
        ("[1, 2]", "is not a map of strings"),
        ("{not json", "is not a map"),
        ('{"a": 1}', "is not a map of strings"),
        ('{"Bad Key/x": "1"}', "is not an annotation name"),
        ('{"example.com/' + "n" * 64 + '": "1"}', "is not an annotation name"),
    ],
)
def test_bad_annotations(given, problem):
    with pytest.raises(InputError, match=rf"key 'mlplatform:ingressAnnotations'.*{problem}"):
        load(ingressAnnotations=given)


def test_ingress_settings_are_refused_with_a_load_balancer():
    with pytest.raises(InputError) as caught:
        load(entry="loadBalancer", ingressClassName="nginx")
    assert str(caught.value) == (
        "Pulumi.dev.yaml: key 'mlplatform:ingressClassName': 'nginx' is set while mlplatform:entry is "
        "loadBalancer; allowed: unset, or mlplatform:entry: ingress"
    )
    with pytest.raises(InputError, match="key 'mlplatform:ingressAnnotations'.*is set while"):
        load(entry="loadBalancer", ingressAnnotations='{"a": "b"}')


@pytest.mark.parametrize("name", ["My_Cert", "cert/x", "-x"])
def test_bad_tls_secret(name):
    with pytest.raises(InputError, match=r"key 'mlplatform:tlsSecret'.*is not a Secret name.*kubeflow-gateway"):
        load(tlsSecret=name)
