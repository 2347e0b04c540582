"""Shared fixtures: the platform evaluated under Pulumi's mocks, and scratch profile folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.evaluate import Registration, kubernetes_objects, run_platform  # noqa: E402


class Platform:
    """The registrations of one program run, with lookups by kind, namespace and name."""

    def __init__(self, registrations: list[Registration]):
        self.registrations = registrations
        self.objects = list(kubernetes_objects(registrations))

    def of_kind(self, kind: str, namespace: str | None = None) -> list[Registration]:
        return [
            r
            for r in self.objects
            if r.kind == kind and (namespace is None or r.metadata.get("namespace") == namespace)
        ]

    def get(self, kind: str, name: str, namespace: str | None = None) -> Registration:
        found = [r for r in self.of_kind(kind, namespace) if r.metadata["name"] == name]
        assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def components(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]


def write_profiles(folder: Path, documents: dict[str, object]) -> Path:
    """Write `{file name: document or raw text}` into `folder` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in documents.items():
        text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
        (folder / name).write_text(text)
    return folder


def team(name: str, **extra: object) -> dict:
    """A minimal valid profile document."""
    return {"name": name, "owner": f"owner@{name}.example.com", **extra}


@pytest.fixture(scope="session")
def platform() -> Platform:
    """The default stack (vanilla, small) with the committed example profiles."""
    return Platform(run_platform({}))


@pytest.fixture
def evaluate(tmp_path):
    """Run the platform with the given profile documents (and extra config) under mocks."""

    def run(documents: dict[str, object], secret: tuple[str, ...] = (), **config: str) -> Platform:
        """`config` keys without a namespace are mlplatform's; `secret` names those stored encrypted."""
        folder = write_profiles(tmp_path / "profiles", documents)
        full = {
            "mlplatform:profilesDir": str(folder),
            **{(k if ":" in k else f"mlplatform:{k}"): v for k, v in config.items()},
        }
        secret_keys = frozenset(f"mlplatform:{k}" for k in secret)
        return Platform(run_platform(full, secret_keys=secret_keys))

    return run
