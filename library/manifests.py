"""Templates under manifests/ rendered into plain Kubernetes object dicts.

A pure function of its inputs: no Pulumi Outputs go in, plain dicts come out. Secrets and
other values only known at deploy time are added by Python code to the rendered dicts.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import pulumi
import yaml

MANIFESTS_DIR = Path(__file__).resolve().parent.parent / "manifests"

try:  # libyaml is ~10x faster; the pure-Python loader gives the same result.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(MANIFESTS_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # `| q` writes a value as a JSON scalar, which is always a valid, exactly-quoted YAML scalar.
    env.filters["q"] = lambda value: json.dumps(value)
    # Jinja's own globals (`namespace`, `range`, ...) must not stand in for a value a caller forgot.
    env.globals.clear()
    return env


def _check_plain(value: Any, path: str) -> None:
    if isinstance(value, pulumi.Output):
        raise TypeError(f"template input {path} is a Pulumi Output; templates take plain values only")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{path}[{i}]")


def render(template: str, **context: Any) -> list[dict]:
    """Render `manifests/<template>` with `context`; return its objects (one or more documents)."""
    for key, value in context.items():
        _check_plain(value, key)
    text = _environment().get_template(template).render(**context)
    objects = [doc for doc in yaml.load_all(text, Loader=_Loader) if doc]
    for obj in objects:
        if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
            raise ValueError(f"manifests/{template} rendered something that is not a Kubernetes object")
    return objects


@cache
def data(name: str) -> Any:
    """A data file under manifests/ (images.yaml, sizes.yaml), parsed once."""
    return yaml.load((MANIFESTS_DIR / name).read_text(), Loader=_Loader)
