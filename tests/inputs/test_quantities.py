from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inputs import quantities


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("64Gi", Decimal(64 * 2**30)),
        ("1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        ("100M", Decimal(10**8)),
        (".5", Decimal("0.5")),
    ],
)
def test_parse_known_values(text, value):
    assert quantities.parse(text) == value


@pytest.mark.parametrize("text", ["2 cores", "", "1.5.2", "-1", "10GB", "1gi", "Gi", "1 Gi", "one"])
def test_rejects_non_quantities(text):
    assert not quantities.is_quantity(text)
    with pytest.raises(ValueError):
        quantities.parse(text)


@given(
    number=st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
    suffix=st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti"]),
)
def test_every_decimal_with_a_suffix_is_a_quantity(number, suffix):
    text = f"{number}{suffix}"
    assert quantities.is_quantity(text)
    assert quantities.parse(text) >= 0


def test_bare_numbers_from_yaml():
    assert quantities.is_quantity(4) and quantities.normalise(4) == "4"
    assert quantities.normalise(2.0) == "2"
    assert not quantities.is_quantity(True)
    assert not quantities.is_quantity(-3)
