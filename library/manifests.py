"""Templates under manifests/ rendered into plain Kubernetes object dicts.

A pure function of its inputs: plain values go into Jinja, plain dicts come out. Values only
known at deploy time (generated passwords, cloud role ARNs: Pulumi Outputs) never enter Jinja.
The one way to place them is `outputs=`: the template marks where each goes with
`{{ output("name") }}` (a whole YAML value: a scalar, or a mapping such as annotations), and
`render` puts the Output itself there after parsing. So the template still shows the complete
object, and no code patches rendered dicts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


_MARK = "mlplatform-output:"


def _place(node: Any, outputs: Mapping[str, Any], used: set[str], template: str) -> Any:
    """`node` with every `output()` mark replaced by its value."""
    if isinstance(node, dict):
        return {k: _place(v, outputs, used, template) for k, v in node.items()}
    if isinstance(node, list):
        return [_place(v, outputs, used, template) for v in node]
    if isinstance(node, str) and _MARK in node:
        name = node.removeprefix(_MARK)
        if name not in outputs:
            raise ValueError(f"manifests/{template}: output() must be a whole YAML value, not part of {node!r}")
        used.add(name)
        return outputs[name]
    return node


def render(template: str, outputs: Mapping[str, Any] | None = None, **context: Any) -> list[dict]:
    """Render `manifests/<template>` with `context`; return its objects (one or more documents).

    `outputs`: deploy-time values (Pulumi Outputs, or mappings of them) by name, placed where the
    template writes `{{ output("name") }}`; `has_output("name")` tells a template whether one was given.
    """
    for key, value in context.items():
        _check_plain(value, key)
    outputs = dict(outputs or {})

    def output(name: str) -> str:
        if name not in outputs:
            raise KeyError(f"manifests/{template} needs output {name!r}")
        return json.dumps(_MARK + name)

    text = (
        _environment().get_template(template).render(**context, output=output, has_output=lambda name: name in outputs)
    )
    used: set[str] = set()
    objects = [_place(doc, outputs, used, template) for doc in yaml.load_all(text, Loader=_Loader) if doc]
    for obj in objects:
        if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
            raise ValueError(f"manifests/{template} rendered something that is not a Kubernetes object")
    if unused := sorted(set(outputs) - used):
        raise ValueError(f"manifests/{template} does not place outputs {unused}")
    return objects


@cache
def data(name: str) -> Any:
    """A data file under manifests/ (images.yaml, sizes.yaml), parsed once."""
    return yaml.load((MANIFESTS_DIR / name).read_text(), Loader=_Loader)
