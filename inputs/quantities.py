"""Kubernetes resource quantities ("500m", "2", "64Gi"): validation and comparison.

The grammar is the API server's (k8s.io/apimachinery/pkg/api/resource): a signed decimal
number followed by a binary suffix (Ki..Ei), a decimal suffix (n, u, m, k, M..E) or an
exponent (e3). We accept only non-negative values, which is all a quota or limit can hold.
"""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(
    r"^\+?(?P<num>[0-9]+(\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}

ALLOWED = "a Kubernetes quantity such as 500m, 2, 1.5, 512Mi or 100Gi"


def parse(text: str) -> Decimal:
    """The value of a quantity in base units; ValueError if `text` is not a quantity."""
    if not isinstance(text, str):
        raise ValueError(f"not a string: {text!r}")
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    number = Decimal(match.group("num"))
    suffix = match.group("suffix") or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * (Decimal(10) ** int(suffix[1:]))


def is_quantity(value: object) -> bool:
    """True when `value` is a quantity string, or a non-negative int or float written bare in YAML."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value >= 0
    try:
        parse(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def normalise(value: object) -> str:
    """The canonical string for a quantity written in YAML as text or as a bare number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
