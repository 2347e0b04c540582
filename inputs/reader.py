"""Typed readers of validated input: every failure names the file, the key, the value and what is allowed."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from inputs import quantities
from inputs.errors import InputError

E = TypeVar("E", bound=enum.Enum)

PROJECT = "mlplatform"
"""The project's config namespace (`mlplatform:<key>`)."""
DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
"""A Kubernetes object name / DNS name (RFC 1123 subdomain); use with `fullmatch`."""


class SecretValue:
    """A config value declared `secret: true`: never printed, and a Pulumi secret wherever it goes."""

    def __init__(self, value: str):
        self._value = value

    def output(self):
        """The value as a Pulumi secret Output (call inside a Pulumi program)."""
        import pulumi

        return pulumi.Output.secret(self._value)

    def digest(self) -> str:
        """SHA-256 of the value (hex), to notice a change without holding the value; use it only for
        high-entropy values (hashes, keys), whose digest reveals nothing of them."""
        import hashlib

        return hashlib.sha256(self._value.encode()).hexdigest()

    def __repr__(self) -> str:
        return "SecretValue([secret])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_LOOKUP: Any = object()
"""Default of every check's `value`: find the value by its key (a ConfigReader's way)."""


class Reader:
    """The checks every input goes through; a failure is an InputError naming the source, the key,
    the value and what is allowed.

    A value is found in one of two ways. A reader walking a document (a team profile) is handed each
    value as it goes: `read.quantity("quota.cpu", value)`. A ConfigReader is given only the key and
    looks it up in its flat config: `read.flag("tracking")`.
    """

    def __init__(self, source: str):
        self.source = source

    def key_name(self, key: str) -> str:
        """The key as messages show it."""
        return key

    def lookup(self, key: str) -> object:
        """The value of `key` when the caller gives none; a document reader is always given one."""
        raise TypeError(f"{type(self).__name__} reads values it is given: pass the value of {key!r}")

    def fail(self, key: str, value: object, problem: str, allowed: str) -> InputError:
        return InputError(self.source, self.key_name(key), value, problem, allowed)

    def text(self, key: str, value: object = _LOOKUP) -> str:
        value = self.lookup(key) if value is _LOOKUP else value
        if not isinstance(value, str):
            raise self.fail(key, value, "is not a string", "a string")
        return value

    def choice(self, key: str, allowed: type[E] | tuple[str, ...], value: object = _LOOKUP) -> Any:
        """One of `allowed`: an Enum's member (given its type) or one of the strings."""
        value = self.lookup(key) if value is _LOOKUP else value
        names = [m.value for m in allowed] if isinstance(allowed, type) else list(allowed)
        if value not in names:
            raise self.fail(key, value, "is not allowed", ", ".join(names))
        return allowed(value) if isinstance(allowed, type) else value

    def flag(self, key: str, value: object = _LOOKUP) -> bool:
        value = self.lookup(key) if value is _LOOKUP else value
        if not isinstance(value, bool):
            raise self.fail(key, value, "is not a boolean", "true or false")
        return value

    def count(self, key: str, value: object = _LOOKUP) -> int:
        """A whole number of 0 or more, written as a number."""
        value = self.lookup(key) if value is _LOOKUP else value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, value, "is not a whole number", "an integer of 0 or more")
        return value

    def integer(self, key: str, low: int, high: int, value: object = _LOOKUP) -> int:
        """A whole number from `low` to `high`, written as a number or as its digits."""
        value = self.lookup(key) if value is _LOOKUP else value
        try:
            number = int(value) if not isinstance(value, bool) else None  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise self.fail(key, value, "is not a whole number in range", f"an integer from {low} to {high}")
        return number

    def quantity(self, key: str, value: object = _LOOKUP) -> str:
        """A Kubernetes quantity, in its canonical spelling."""
        value = self.lookup(key) if value is _LOOKUP else value
        if not quantities.is_quantity(value):
            raise self.fail(key, value, "is not a quantity", quantities.ALLOWED)
        return quantities.normalise(value)  # type: ignore[arg-type]

    def matching(self, key: str, pattern: re.Pattern, allowed: str, value: str | None = None) -> str:
        """A string `pattern` matches in full (the value of `key` when none is given)."""
        value = self.text(key) if value is None else value
        if not pattern.fullmatch(value):
            raise self.fail(key, value, "is not valid", allowed)
        return value


class ConfigReader(Reader):
    """Typed access to validated config values; every failure names the stack file and the key
    (`mlplatform:<key>` unless the key names its namespace)."""

    def __init__(
        self,
        values: Mapping[str, object],
        source: str,
        raw: Mapping[str, object] | None = None,
        secret_keys: frozenset[str] = frozenset(),
    ):
        super().__init__(source)
        self.values = values
        self.raw = raw or {}
        self.secret_keys = secret_keys

    def key_name(self, key: str) -> str:
        return key if ":" in key else f"{PROJECT}:{key}"

    def lookup(self, key: str) -> object:
        return self.values.get(key)

    def text(self, key: str, value: object = _LOOKUP) -> str:
        """The string, or "" when the key is unset."""
        value = self.lookup(key) if value is _LOOKUP else value
        return "" if value is None else super().text(key, value)

    def flag(self, key: str, value: object = _LOOKUP) -> bool:
        """A boolean, also as the engine hands it over (the strings `true`, `false`)."""
        value = self.lookup(key) if value is _LOOKUP else value
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise self.fail(key, value, "is not a boolean", "true, false")

    def provider_text(self, key: str) -> str:
        """A setting of another namespace (e.g. `aws:region`), as given in the stack file."""
        value = self.raw.get(key)
        return value if isinstance(value, str) else ""

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
