"""The platform's stack plus one stack per team: preview, apply, remove and migrate them together.

    python -m tools.stacks preview [--stack dev] [--team T ...]
    python -m tools.stacks up      [--stack dev] [--team T ...] [--yes] [--parallel 2]
    python -m tools.stacks destroy [--stack dev] [--yes]
    python -m tools.stacks migrate [--stack dev] [--yes]

With `mlplatform:teamStacks: true`, stack `dev` holds the platform and stack `dev.<team>` holds each
team (its namespace and everything created for it), so an operation on one team costs the same
whatever the number of teams, and the file backend's state rewrites stay small (README "Teams").
`up` applies the platform stack, then the team stacks (`--parallel` at a time); a team stack is
created on first use with a copy of the platform stack's config; the stack of a team whose profile
is gone is destroyed and removed (its namespace is retained, as in a single stack). With `--team`,
only those teams' stacks run, after the platform's (whose size does not grow with the teams).
`migrate` turns a single stack into this layout without touching the cluster: it moves each team's
resources into the team's stack.

Runs the Pulumi CLI found on PATH (or $PULUMI), in the project folder, with the environment given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inputs.stacks import TEAM_STACK_SEPARATOR, team_stack  # noqa: E402


class StackError(RuntimeError):
    """A Pulumi command failed; the message holds the end of its output."""


@dataclass
class Stacks:
    """The stacks of one platform, driven through the Pulumi CLI in `folder`."""

    folder: Path
    platform: str
    env: dict | None = None
    pulumi: str = os.environ.get("PULUMI") or shutil.which("pulumi") or "pulumi"
    log: Callable[[str], None] = print

    def run(self, *args: str, stack: str | None = None, check: bool = True, capture: bool = True) -> str:
        command = [self.pulumi, *args, *(["--stack", stack] if stack else []), "--non-interactive"]
        result = subprocess.run(command, cwd=self.folder, env=self.env, capture_output=capture, text=True)
        if check and result.returncode != 0:
            raise StackError(
                f"pulumi {' '.join(args)} ({stack}) failed ({result.returncode}):\n"
                f"{(result.stdout or '')[-4000:]}\n{(result.stderr or '')[-3000:]}"
            )
        return result.stdout or ""

    # --- what exists -------------------------------------------------------------------------------
    def existing(self) -> set[str]:
        return {s["name"] for s in json.loads(self.run("stack", "ls", "--json") or "[]")}

    def team_stacks(self) -> dict[str, str]:
        """Team name -> stack name, for every team stack of this platform."""
        prefix = self.platform + TEAM_STACK_SEPARATOR
        return {s[len(prefix) :]: s for s in self.existing() if s.startswith(prefix)}

    def config(self, stack: str) -> dict:
        return json.loads(self.run("config", "--json", stack=stack))

    def profile_teams(self, values: dict | None = None) -> list[str]:
        """Teams with a profile, as the platform stack's settings (`values`) find them (validated)."""
        from inputs.teams import load_profiles

        values = self.config(self.platform) if values is None else values
        folder = Path(values.get("mlplatform:profilesDir", {}).get("value") or "profiles")
        folder = folder if folder.is_absolute() else self.folder / folder
        return sorted(t.name for t in load_profiles(folder, frozenset(), relative_to=self.folder))

    # --- team stacks ---------------------------------------------------------------------------------
    def prepare(self, team: str, existing: set[str]) -> str:
        """The team's stack, created or with its config refreshed from the platform stack's."""
        stack = team_stack(self.platform, team)
        if stack not in existing:
            self.run("stack", "init", stack, "--copy-config-from", self.platform, "--no-select")
        else:
            self.run("config", "cp", "--dest", stack, stack=self.platform)
        values = (("teamStacks", "true"), ("team", team), ("platformStack", self.platform))
        pairs = [arg for key, value in values for arg in ("--plaintext", f"mlplatform:{key}={value}")]
        self.run("config", "set-all", *pairs, stack=stack)
        return stack

    def each(self, stacks: Sequence[str], action: Callable[[str], str], parallel: int) -> dict[str, str]:
        """`action(stack)` for every stack, `parallel` at a time; raise after all ran if any failed."""
        results: dict[str, str] = {}
        errors: list[str] = []

        def one(stack: str) -> None:
            try:
                results[stack] = action(stack)
            except StackError as error:
                errors.append(str(error))

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            list(pool.map(one, stacks))
        if errors:
            raise StackError("\n\n".join(errors))
        return results

    # --- commands ------------------------------------------------------------------------------------
    def preview(self, teams: Iterable[str] | None = None, parallel: int = 2) -> dict[str, dict]:
        """Each stack's change summary (`{"create": 3, "same": 40, ...}`), the platform's first."""
        chosen, gone = self.plan(teams)
        existing = self.existing()
        stacks = [self.platform, *(self.prepare(t, existing) for t in chosen)]

        def summary(stack: str) -> str:
            return self.run("preview", "--json", stack=stack)

        out = {s: json.loads(text).get("changeSummary", {}) for s, text in self.each(stacks, summary, parallel).items()}
        for team in gone:
            out[team_stack(self.platform, team)] = {"delete": "the team's profile is gone (namespace retained)"}
        for stack in stacks + [team_stack(self.platform, t) for t in gone]:
            self.log(f"{stack}: {_describe(out[stack])}")
        return out

    def up(self, teams: Iterable[str] | None = None, parallel: int = 2) -> None:
        chosen, gone = self.plan(teams)
        existing = self.existing()
        # The platform's stack first, always: its size does not grow with the teams, and it holds the few
        # objects that serve every team (the front door's routes to each team's apps).
        self.log(f"{self.platform}: up")
        self.run("up", "--yes", "--skip-preview", stack=self.platform)
        stacks = [self.prepare(t, existing) for t in chosen]
        self.each(stacks, lambda s: self.run("up", "--yes", "--skip-preview", stack=s), parallel)
        for stack in stacks:
            self.log(f"{stack}: up")
        for team in gone:
            self.remove(team)

    def remove(self, team: str) -> None:
        """Destroy a removed team's stack (its namespace stays: retained) and delete the stack."""
        stack = team_stack(self.platform, team)
        self.run("destroy", "--yes", "--skip-preview", stack=stack)
        self.run("stack", "rm", "--yes", stack=stack)
        self.log(f"{stack}: removed (the namespace is retained)")

    def destroy(self, parallel: int = 2) -> None:
        """Every team stack, then the platform's (retained namespaces and volumes stay)."""
        stacks = sorted(self.team_stacks().values())
        self.each(stacks, lambda s: self.run("destroy", "--yes", "--skip-preview", stack=s), parallel)
        self.run("destroy", "--yes", "--skip-preview", stack=self.platform)

    def plan(self, teams: Iterable[str] | None) -> tuple[list[str], list[str]]:
        """(teams to run, teams whose stack is to be removed)."""
        values = self.config(self.platform)
        profiles = self.profile_teams(values)
        if str(values.get("mlplatform:teamStacks", {}).get("value")).lower() != "true":
            raise StackError(
                f"stack {self.platform} keeps its teams itself (mlplatform:teamStacks is not true): use "
                f"`pulumi up`, or `python -m tools.stacks migrate --stack {self.platform}` to move them out"
            )
        if teams:
            unknown = sorted(set(teams) - set(profiles))
            if unknown:
                raise StackError(f"no profile for {unknown}; teams with a profile: {profiles}")
            return sorted(set(teams)), []
        return profiles, sorted(set(self.team_stacks()) - set(profiles))

    def migrate(self, keys_of: Callable[[str | None], set[str]]) -> None:
        """Move each team's resources out of a single stack into the team's own stack (no cluster change).

        `keys_of(team)` gives the `type::name` (see `_key`) of what the team's stack registers, and
        `keys_of(None)` what the platform's stack registers: a resource of a team's that the platform
        registers too (the components holding the team's part) is in both; every other one moves.
        The old state is kept in `<folder>/.migrate-<stack>.json` (it holds secrets: delete it after).
        """
        values = self.config(self.platform)
        if str(values.get("mlplatform:teamStacks", {}).get("value")).lower() == "true":
            raise StackError(f"stack {self.platform} already keeps its teams in stacks of their own")
        backup = self.folder / f".migrate-{self.platform}.json"
        self.run("stack", "export", "--show-secrets", "--file", str(backup), stack=self.platform)
        os.chmod(backup, 0o600)
        exported = json.loads(backup.read_text())
        deployment = exported["deployment"]
        moved: set[str] = set()
        existing = self.existing()
        platform_keys = keys_of(None)
        for team in self.profile_teams():
            keys = keys_of(team)
            stack = self.prepare(team, existing)
            mine = [r for r in deployment["resources"] if _key(r["urn"]) in keys]
            moved |= {r["urn"] for r in mine if _key(r["urn"]) not in platform_keys}
            self._import(stack, exported, mine)
            self.log(f"{stack}: {len(mine)} resources from {self.platform}")
        rest = [r for r in deployment["resources"] if r["urn"] not in moved]
        self._import(self.platform, exported, rest)
        self.run("config", "set", "mlplatform:teamStacks", "true", stack=self.platform)
        self.log(f"{self.platform}: {len(rest)} resources kept; mlplatform:teamStacks set to true")

    def _import(self, stack: str, exported: dict, chosen: list[dict]) -> None:
        """Import `chosen` (plus the root stack resource and the providers they use) as `stack`'s state,
        with every URN renamed from the platform stack to `stack`."""
        deployment = exported["deployment"]
        old_root = next(r["urn"] for r in deployment["resources"] if r["type"] == "pulumi:pulumi:Stack")
        project = old_root.split("::")[1]
        renames = [
            (old_root, f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"),
            (f"urn:pulumi:{self.platform}::", f"urn:pulumi:{stack}::"),
        ]
        root = [r for r in deployment["resources"] if r["type"] == "pulumi:pulumi:Stack"]
        providers = {r.get("provider", "").rsplit("::", 1)[0] for r in chosen}
        used = [
            r for r in deployment["resources"] if r["type"].startswith("pulumi:providers:") and r["urn"] in providers
        ]
        picked = {r["urn"] for r in (*root, *used, *chosen)}
        resources = []
        for resource in deployment["resources"]:  # the export's order is a valid dependency order
            if resource["urn"] not in picked:
                continue
            text = json.dumps(resource)
            for old, new in renames:
                text = text.replace(old, new)
            resource = json.loads(text)
            keep = {_renamed(u, renames) for u in picked}
            resource["dependencies"] = [d for d in resource.get("dependencies") or [] if d in keep]
            resource["propertyDependencies"] = {
                k: kept
                for k, v in (resource.get("propertyDependencies") or {}).items()
                if (kept := [d for d in v if d in keep])
            }
            resources.append(resource)
        # The export's secrets provider (the same passphrase or key for every stack of a platform)
        # encrypts the plaintext secrets again on import.
        target = {**exported, "deployment": {**deployment, "resources": resources}}
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=self.folder, delete=False) as handle:
            json.dump(target, handle)
        try:
            os.chmod(handle.name, 0o600)
            self.run("stack", "import", "--file", handle.name, stack=stack)
        finally:
            os.unlink(handle.name)


def _key(urn: str) -> str:
    """`type::name` of a URN: unique in this program (names carry their component's prefix), and the
    same whatever the stack, the project or the parents (the SDK's mocks write shorter type chains)."""
    types, name = urn.split("::", 2)[2].rsplit("::", 1)
    return f"{types.rsplit('$', 1)[-1]}::{name}"


def _renamed(urn: str, renames: list[tuple[str, str]]) -> str:
    for old, new in renames:
        urn = urn.replace(old, new)
    return urn


def _describe(summary: dict) -> str:
    changes = {k: v for k, v in summary.items() if k not in ("same", "read")}
    return ", ".join(f"{k} {v}" for k, v in changes.items()) or "no changes"


def keys_from_program(stacks: Stacks) -> Callable[[str | None], set[str]]:
    """What each team's stack (or, for None, the platform's) registers: the program run under mocks."""
    folder, platform = stacks.folder, stacks.platform
    from tools.evaluate import run_platform

    def keys(team: str | None) -> set[str]:
        values = json.loads(stacks.run("config", "--json", "--show-secrets", stack=platform))
        config = {k: v["value"] for k, v in values.items()}
        profiles = Path(config.get("mlplatform:profilesDir") or "profiles")
        config["mlplatform:profilesDir"] = str(profiles if profiles.is_absolute() else folder / profiles)
        secret = frozenset(k for k, v in values.items() if v.get("secret"))
        config["mlplatform:teamStacks"] = "true"
        if team is None:
            return {_key(r.urn) for r in run_platform(config, platform, secret)}
        config |= {"mlplatform:team": team, "mlplatform:platformStack": platform}
        return {_key(r.urn) for r in run_platform(config, team_stack(platform, team), secret)}

    return keys


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("preview", "up", "destroy", "migrate"))
    parser.add_argument("--stack", default=os.environ.get("STACK", "dev"), help="the platform's stack")
    parser.add_argument("--team", action="append", help="only this team's stack (repeatable)")
    parser.add_argument("--parallel", type=int, default=2, help="team stacks run at the same time")
    parser.add_argument("--yes", action="store_true", help="apply without asking after the preview")
    args = parser.parse_args(argv)
    stacks = Stacks(Path.cwd(), args.stack)
    try:
        if args.command == "preview":
            stacks.preview(args.team, args.parallel)
        elif args.command == "up":
            stacks.preview(args.team, args.parallel)
            if args.yes or input("Apply these changes? [y/N] ").strip().lower() == "y":
                stacks.up(args.team, args.parallel)
        elif args.command == "destroy":
            if args.yes or input(f"Destroy every stack of {args.stack}? [y/N] ").strip().lower() == "y":
                stacks.destroy(args.parallel)
        elif args.command == "migrate":
            if args.yes or input(f"Move {args.stack}'s teams into stacks of their own? [y/N] ").lower() == "y":
                stacks.migrate(keys_from_program(stacks))
    except StackError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
