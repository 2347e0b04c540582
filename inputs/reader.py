"""Typed readers of validated input: every failure names the file, the key, the value and what is allowed."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping

from inputs.errors import InputError

PROJECT = "mlplatform"
"""The project's config namespace (`mlplatform:<key>`)."""


class SecretValue:
    """A config value declared `secret: true`: never printed, and a Pulumi secret wherever it goes."""

    def __init__(self, value: str):
        self._value = value

    def output(self):
        """The value as a Pulumi secret Output (call inside a Pulumi program)."""
        import pulumi

        return pulumi.Output.secret(self._value)

    def __repr__(self) -> str:
        return "SecretValue([secret])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigReader:
    """Typed access to validated config values; every failure names the stack file and the key."""

    def __init__(
        self,
        values: Mapping[str, object],
        source: str,
        raw: Mapping[str, object] | None = None,
        secret_keys: frozenset[str] = frozenset(),
    ):
        self.values = values
        self.source = source
        self.raw = raw or {}
        self.secret_keys = secret_keys

    def fail(self, key: str, value: object, problem: str, allowed: str) -> InputError:
        full = key if ":" in key else f"{PROJECT}:{key}"
        return InputError(self.source, full, value, problem, allowed)

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(key, value, "is not a string", "a string")
        return value

    def provider_text(self, key: str) -> str:
        """A setting of another namespace (e.g. `aws:region`), as given in the stack file."""
        value = self.raw.get(key)
        return value if isinstance(value, str) else ""

    def choice(self, key: str, enum_type: type[enum.Enum]) -> enum.Enum:
        allowed = [m.value for m in enum_type]
        if self.values.get(key) not in allowed:
            raise self.fail(key, self.values.get(key), "is not allowed", ", ".join(allowed))
        return enum_type(self.values[key])

    def flag(self, key: str) -> bool:
        value = self.values.get(key)
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise self.fail(key, value, "is not a boolean", "true, false")

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.values.get(key)
        try:
            number = int(value) if not isinstance(value, bool) else None  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise self.fail(key, value, "is not a whole number in range", f"an integer from {low} to {high}")
        return number

    def array(self, key: str) -> list[str]:
        value = self.values.get(key)
        if isinstance(value, str):  # the engine hands structured config over as JSON
            try:
                value = json.loads(value) if value else []
            except ValueError:
                raise self.fail(key, value, "is not a list", "a YAML list of strings") from None
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, value, "is not a list of strings", "a YAML list of strings")
        return value

    def secret(self, key: str) -> SecretValue | None:
        """A value that must have been set with `pulumi config set --secret` (encrypted in the stack file)."""
        value = self.values.get(key)
        if value in (None, ""):
            return None
        if f"{PROJECT}:{key}" not in self.secret_keys:
            raise self.fail(
                key,
                "[not shown]",
                "is stored in plain text",
                f"an encrypted value: pulumi config set --secret {PROJECT}:{key} ...",
            )
        if not isinstance(value, str):
            raise self.fail(key, "[secret]", "is not a string", "a string set with `pulumi config set --secret`")
        return SecretValue(value)

    def matching(self, key: str, pattern: re.Pattern, allowed: str, value: str | None = None) -> str:
        value = self.text(key) if value is None else value
        if not pattern.fullmatch(value):
            raise self.fail(key, value, "is not valid", allowed)
        return value
