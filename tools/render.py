"""Render the whole platform of a stack to a folder of YAML, for review and GitOps.

    python -m tools.render --stack vanilla --out rendered/

Runs exactly the program `pulumi up` runs (in-process, against the SDK's mock engine, no
cluster and no Pulumi CLI needed) and writes one file per Kubernetes object:
`<out>/<namespace or _cluster>/<Kind>-<name>.yaml`. Secrets whose values are generated or
configured as Pulumi secrets are not written (their values exist only in Pulumi's encrypted
state); the command lists them so they can be supplied by other means.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.evaluate import Registration, contains_secret, kubernetes_objects, run_platform  # noqa: E402


def stack_config(stack: str, project_dir: Path = ROOT) -> tuple[dict[str, str], frozenset[str]]:
    """The config of `Pulumi.<stack>.yaml` (empty if the file does not exist) and its encrypted keys.

    Encrypted values (`secure:`) cannot be read without the Pulumi CLI: they stand in as a marker,
    and whatever uses them renders as a withheld Secret. Lists are handed over as JSON, as the
    engine does.
    """
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}, frozenset()
    document = yaml.safe_load(path.read_text()) or {}
    values, secret = {}, set()
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            values[key] = f"(encrypted in {path.name})"
            secret.add(key)
        elif isinstance(value, str):
            values[key] = value
        else:
            values[key] = json.dumps(value)
    return values, frozenset(secret)


def file_name(obj: dict) -> Path:
    meta = obj["metadata"]
    return Path(meta.get("namespace") or "_cluster") / f"{obj['kind']}-{meta['name']}.yaml"


def write(objects: Iterable[Registration], out: Path, include_secrets: bool = False) -> tuple[int, list[str]]:
    """Write objects below `out`; return (files written, withheld secrets as 'ns/name').

    `include_secrets` writes Secrets with the values of this evaluation too (under mocks, made-up
    ones: for benchmarks and tests that apply the objects to a throw-away cluster, never for users).
    """
    if out.exists():
        shutil.rmtree(out)
    written, withheld = 0, []
    for registration in objects:
        if contains_secret(registration.inputs) and not include_secrets:
            obj = registration.object
            if obj["kind"] != "Secret":
                raise ValueError(f"{registration.urn}: a secret value outside a Secret")
            withheld.append(f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}")
            continue
        target = out / file_name(registration.object)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Keys sorted as kubectl writes them: the engine hands inputs over as protobuf Structs, whose
        # key order is not kept, so only a sorted file is the same from one run to the next.
        target.write_text(yaml.safe_dump(registration.object, sort_keys=True))
        written += 1
    return written, sorted(withheld)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="vanilla", help="stack whose Pulumi.<stack>.yaml config to use")
    parser.add_argument("--out", type=Path, default=ROOT / "rendered", help="folder to (re)create")
    args = parser.parse_args(argv)

    from inputs.errors import InputError, InputErrors

    try:
        config, secret_keys = stack_config(args.stack, ROOT)
        # Every object, whatever the layout: the platform's stack and the teams' stacks together register
        # exactly what one stack registers (tests/components/test_team_stacks.py).
        config = {**config, "mlplatform:teamStacks": "false", "mlplatform:team": "", "mlplatform:platformStack": ""}
        registrations = run_platform(config, args.stack, secret_keys)
    except (InputError, InputErrors) as error:
        print(error, file=sys.stderr)
        return 1
    written, withheld = write(kubernetes_objects(registrations), args.out)
    print(f"{written} objects written to {args.out}")
    if withheld:
        print(
            f"{len(withheld)} Secrets hold generated or secret values and were not written "
            f"(`pulumi up` creates them): {', '.join(withheld)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
