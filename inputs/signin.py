"""Sign-in settings: who may sign in to the platform, and through which identity provider.

By default a bundled Dex holds the users of `mlplatform:users` (e-mail, bcrypt hash of the
password, groups); `mlplatform:identityProvider: oidc` signs people in with an external OpenID
Connect issuer instead. Checked with the other settings, before anything is registered.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inputs.reader import PROJECT, ConfigReader, SecretValue
from inputs.teams import EMAIL

# What Dex accepts at sign-in (dex v2.45.1 server/api.go checkCost): bcrypt of cost 10 to 16.
_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
MIN_COST, MAX_COST = 10, 16
HOW_TO_HASH = (
    "a bcrypt hash (cost 10 to 16) of the password, never the password itself; make one with"
    " `htpasswd -nbBC 12 '' 'the password' | cut -d: -f2` or"
    " `python3 -c 'import bcrypt; print(bcrypt.hashpw(b\"the password\", bcrypt.gensalt(12)).decode())'`,"
    f" then: pulumi config set --secret --path '{PROJECT}:users[N].passwordHash' '<hash>'"
)
_GROUP = re.compile(r"[^\s,]{1,128}")
_CLAIM = re.compile(r"[A-Za-z0-9_:.\-]{1,128}")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 scope-token
_USER_KEYS = {"email", "passwordHash", "groups"}


class IdentityProvider(enum.StrEnum):
    """Who checks a person's password: the bundled Dex, or an external OpenID Connect issuer."""

    DEX = "dex"
    OIDC = "oidc"


@dataclass(frozen=True)
class User:
    """A person who signs in with the bundled Dex."""

    email: str
    """Their e-mail address: what the platform's apps see as `kubeflow-userid`, and what profiles name."""
    password_hash: SecretValue
    """The bcrypt hash of their password (stack secret)."""
    groups: tuple[str, ...] = ()
    """Groups Dex puts in the `groups` claim (`kubeflow-groups`)."""


@dataclass(frozen=True)
class SignInConfig:
    """How people sign in."""

    provider: IdentityProvider
    """The bundled Dex or an external issuer."""
    users: tuple[User, ...] = ()
    """Dex's users (empty with an external issuer)."""
    issuer_url: str = ""
    """The external issuer (https), with `oidc`."""
    client_id: str = ""
    """The platform's client at the external issuer."""
    client_secret: SecretValue | None = None
    """Its secret (stack secret), with `oidc`."""
    scopes: tuple[str, ...] = ()
    """Scopes asked of the external issuer."""
    email_claim: str = "email"
    """ID-token claim that holds the user's e-mail address (-> `kubeflow-userid`)."""
    groups_claim: str = "groups"
    """ID-token claim that holds the user's groups (-> `kubeflow-groups`)."""


def _entries(read: ConfigReader) -> list[Any]:
    value = read.values.get("users")
    if isinstance(value, str):  # the engine hands structured config over as JSON
        try:
            value = json.loads(value) if value else []
        except ValueError:
            raise read.fail(
                "users", "[not shown]", "is not a list", "a YAML list of {email, passwordHash, groups}"
            ) from None
    if value is None:
        return []
    if not isinstance(value, list):
        raise read.fail("users", "[not shown]", "is not a list", "a YAML list of {email, passwordHash, groups}")
    return value


def _plain_hashes(stack_file: Path | None) -> list[int]:
    """Indexes of users whose passwordHash the stack file holds in plain text.

    The engine marks a whole structured key secret as soon as one part of it is, so only the file
    tells a hash set with `--secret --path` from one written in plain text next to it."""
    if stack_file is None or not stack_file.is_file():
        return []
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    users = config.get(f"{PROJECT}:users")
    if not isinstance(users, list):
        return []
    return [
        i
        for i, u in enumerate(users)
        if isinstance(u, dict)
        and "passwordHash" in u
        and not (isinstance(u["passwordHash"], dict) and "secure" in u["passwordHash"])
    ]


def _users(read: ConfigReader, stack_file: Path | None) -> tuple[User, ...]:
    entries = _entries(read)
    if entries and f"{PROJECT}:users" not in read.secret_keys:
        raise read.fail("users", "[not shown]", "holds its password hashes in plain text", HOW_TO_HASH)
    if plain := _plain_hashes(stack_file):
        raise read.fail(f"users[{plain[0]}].passwordHash", "[not shown]", "is stored in plain text", HOW_TO_HASH)
    users, seen = [], set()
    for i, entry in enumerate(entries):
        key = f"users[{i}]"
        if not isinstance(entry, dict):
            raise read.fail(key, "[not shown]", "is not a mapping", "a mapping of email, passwordHash and groups")
        if unknown := sorted(set(entry) - _USER_KEYS):
            raise read.fail(f"{key}.{unknown[0]}", "[not shown]", "is not a known key", ", ".join(sorted(_USER_KEYS)))
        email = entry.get("email")
        if not isinstance(email, str) or not EMAIL.match(email):
            raise read.fail(f"{key}.email", email, "is not an e-mail address", "an address such as alice@example.com")
        if email.lower() in seen:
            raise read.fail(f"{key}.email", email, "is listed twice", "each person once")
        seen.add(email.lower())
        hashed = entry.get("passwordHash")
        if not isinstance(hashed, str) or not hashed:
            raise read.fail(f"{key}.passwordHash", None, "is required", HOW_TO_HASH)
        bcrypt = _BCRYPT.fullmatch(hashed)
        if not bcrypt:
            problem = "is not a bcrypt hash (a plain password?)"
            raise read.fail(f"{key}.passwordHash", "[not shown]", problem, HOW_TO_HASH)
        if not MIN_COST <= int(bcrypt.group(1)) <= MAX_COST:
            problem = f"has bcrypt cost {int(bcrypt.group(1))}, which Dex refuses at sign-in"
            raise read.fail(f"{key}.passwordHash", "[not shown]", problem, HOW_TO_HASH)
        groups = entry.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) and _GROUP.fullmatch(g) for g in groups):
            raise read.fail(f"{key}.groups", groups, "is not a list of group names", "names without spaces or commas")
        users.append(User(email=email, password_hash=SecretValue(hashed), groups=tuple(groups)))
    return tuple(users)


def parse(read: ConfigReader, stack_file: Path | None = None) -> SignInConfig:
    """The sign-in settings of a stack, or an InputError naming the key. `stack_file`: the stack's
    Pulumi.<stack>.yaml, read to check that every password hash in it is encrypted."""
    provider = read.choice("identityProvider", IdentityProvider)
    if provider is IdentityProvider.DEX:
        for key in ("oidcIssuerUrl", "oidcClientId", "oidcClientSecret"):
            if read.values.get(key):
                raise read.fail(
                    key,
                    "[not shown]",
                    "is set, but identityProvider is dex",
                    f"set {PROJECT}:identityProvider oidc, or remove {key}",
                )
        return SignInConfig(provider=provider, users=_users(read, stack_file))

    if _entries(read):
        raise read.fail(
            "users",
            "[not shown]",
            "lists users, but identityProvider is oidc",
            "users of the bundled Dex only: remove mlplatform:users, the external issuer knows its users",
        )
    issuer = read.text("oidcIssuerUrl").rstrip("/")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s?#]*)?", issuer):
        raise read.fail(
            "oidcIssuerUrl",
            issuer,
            "is not an https issuer URL",
            "the issuer's URL as in its /.well-known/openid-configuration, such as https://login.microsoftonline.com/<tenant>/v2.0",
        )
    client_id = read.text("oidcClientId")
    if not re.fullmatch(r"[A-Za-z0-9._:@/+=-]{1,256}", client_id):
        raise read.fail(
            "oidcClientId", client_id, "is not a client id", "the platform's client (application) id at the issuer"
        )
    secret = read.secret("oidcClientSecret")
    if secret is None:
        raise read.fail(
            "oidcClientSecret",
            None,
            "is required with identityProvider oidc",
            f"the client's secret: pulumi config set --secret {PROJECT}:oidcClientSecret ...",
        )
    scopes = read.array("oidcScopes")
    if "openid" not in scopes or not all(_SCOPE.fullmatch(s) for s in scopes):
        raise read.fail(
            "oidcScopes", scopes, "is not a list of scopes with openid", "scope names such as openid, email, profile"
        )
    claims = {
        key: read.matching(key, _CLAIM, "a claim name such as email, groups or cognito:groups")
        for key in ("oidcEmailClaim", "oidcGroupsClaim")
    }
    return SignInConfig(
        provider=provider,
        issuer_url=issuer,
        client_id=client_id,
        client_secret=secret,
        scopes=tuple(scopes),
        email_claim=claims["oidcEmailClaim"],
        groups_claim=claims["oidcGroupsClaim"],
    )
