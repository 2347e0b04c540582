"""The one reader: shared checks, found by key (stack config) or handed over (profile documents)."""

from __future__ import annotations

import enum

import pytest

from inputs.errors import InputError
from inputs.reader import ConfigReader
from inputs.teams import ProfileReader


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


def _message(call) -> str:
    with pytest.raises(InputError) as caught:
        call()
    return str(caught.value)


def test_config_keys_are_looked_up_and_named_in_the_project_namespace():
    read = ConfigReader({"size": "huge", "cpu": "2 cores", "colour": "blue"}, "Pulumi.s.yaml")
    assert read.choice("colour", Colour) is Colour.BLUE
    assert _message(lambda: read.quantity("cpu")).startswith(
        "Pulumi.s.yaml: key 'mlplatform:cpu': '2 cores' is not a quantity; allowed: a Kubernetes quantity"
    )
    assert read.text("unset") == ""


def test_profile_values_are_handed_over_and_named_by_their_path():
    read = ProfileReader("p/a.yaml")
    assert read.choice("role", ("admin", "view"), "view") == "view"
    assert read.quantity("quota.cpu", 2) == "2"
    assert _message(lambda: read.text("name", None)) == (
        "p/a.yaml: key 'name': (missing) is not a string; allowed: a string"
    )
    with pytest.raises(TypeError):
        read.text("name")


def test_the_two_boolean_spellings_keep_their_messages():
    assert ConfigReader({"t": "true"}, "s").flag("t") is True
    assert _message(lambda: ConfigReader({"t": "yes"}, "s").flag("t")).endswith("allowed: true, false")
    assert _message(lambda: ProfileReader("p").flag("adopt", "true")).endswith("allowed: true or false")
