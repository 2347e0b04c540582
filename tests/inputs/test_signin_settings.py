"""Sign-in settings: users of the bundled Dex (secret bcrypt hashes) or an external OIDC issuer."""

from __future__ import annotations

import json

import pytest

from inputs import settings
from inputs.errors import InputError
from inputs.signin import IdentityProvider

HASH = "$2b$10$snYBVTQX3VsCsWYaQLcKrOOIUaofCUEpyDJASF3iB/pc2jLJe41ju"
USERS = "mlplatform:users"
OIDC = {
    "identityProvider": "oidc",
    "oidcIssuerUrl": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    "oidcClientId": "1example23456789",
    "oidcClientSecret": "a-client-secret",
}


def load(secret=(USERS, "mlplatform:oidcClientSecret"), stack_file=None, **raw):
    config = {f"mlplatform:{k}": v for k, v in raw.items()}
    return settings.load(config, "Pulumi.dev.yaml", secret_keys=frozenset(secret), stack_file=stack_file).signin


def error(**kw) -> str:
    with pytest.raises(InputError) as caught:
        load(**kw)
    return str(caught.value)


def test_default_is_dex_with_nobody():
    signin = load()
    assert signin.provider is IdentityProvider.DEX and signin.users == ()


def test_users_as_the_engine_hands_them_over():
    users = json.dumps([{"email": "alice@example.com", "passwordHash": HASH, "groups": ["team-a"]}])
    (alice,) = load(users=users).users
    assert (alice.email, alice.groups) == ("alice@example.com", ("team-a",))
    assert alice.password_hash.digest() and "$2b$" not in repr(alice)


def test_a_plain_password_says_how_to_make_a_hash():
    message = error(users=[{"email": "alice@example.com", "passwordHash": "correct horse battery staple"}])
    assert message.startswith(
        "Pulumi.dev.yaml: key 'mlplatform:users[0].passwordHash': '[not shown]'"
        " is not a bcrypt hash (a plain password?)"
    )
    assert "htpasswd -nbBC 12" in message and "bcrypt.hashpw" in message
    assert "pulumi config set --secret --path 'mlplatform:users[N].passwordHash'" in message
    assert "correct horse" not in message


def test_a_hash_dex_would_refuse_at_sign_in():
    cheap = "$2b$04$" + HASH[7:]
    assert "has bcrypt cost 4, which Dex refuses at sign-in" in error(
        users=[{"email": "a@example.com", "passwordHash": cheap}]
    )


def test_hashes_must_be_secret_config():
    users = [{"email": "alice@example.com", "passwordHash": HASH}]
    message = error(users=users, secret=())
    assert "key 'mlplatform:users': '[not shown]' holds its password hashes in plain text" in message
    assert HASH not in message


def test_one_hash_in_plain_text_next_to_a_secret_one_is_found_in_the_stack_file(tmp_path):
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(
        "config:\n  mlplatform:users:\n"
        "    - {email: a@example.com, passwordHash: {secure: v1:abc}}\n"
        f"    - {{email: b@example.com, passwordHash: '{HASH}'}}\n"
    )
    users = [{"email": "a@example.com", "passwordHash": HASH}, {"email": "b@example.com", "passwordHash": HASH}]
    assert "key 'mlplatform:users[1].passwordHash': '[not shown]' is stored in plain text" in error(
        users=users, stack_file=stack
    )
    stack.write_text(stack.read_text().replace(f"'{HASH}'", "{secure: v1:def}"))
    assert len(load(users=users, stack_file=stack).users) == 2


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"email": "alice", "passwordHash": HASH}, "key 'mlplatform:users[0].email': 'alice' is not an e-mail address"),
        ({"email": "a@example.com"}, "key 'mlplatform:users[0].passwordHash': (missing) is required"),
        ({"email": "a@example.com", "passwordHash": HASH, "role": "x"}, "users[0].role': '[not shown]' is not a known"),
        ({"email": "a@example.com", "passwordHash": HASH, "groups": "team-a"}, "users[0].groups': 'team-a' is not a"),
        ({"email": "a@example.com", "passwordHash": HASH, "groups": ["a b"]}, "is not a list of group names"),
    ],
)
def test_bad_user(entry, expected):
    assert expected in error(users=[entry])


def test_a_user_listed_twice():
    users = [{"email": "a@example.com", "passwordHash": HASH}, {"email": "A@example.com", "passwordHash": HASH}]
    assert "key 'mlplatform:users[1].email': 'A@example.com' is listed twice" in error(users=users)


def test_users_is_a_list():
    assert "key 'mlplatform:users': '[not shown]' is not a list" in error(users='{"email": "a@example.com"}')


def test_oidc():
    signin = load(**OIDC, oidcGroupsClaim="cognito:groups")
    assert signin.provider is IdentityProvider.OIDC
    assert (signin.issuer_url, signin.client_id, signin.groups_claim) == (
        OIDC["oidcIssuerUrl"],
        "1example23456789",
        "cognito:groups",
    )
    assert signin.scopes == ("openid", "email", "profile")  # Pulumi.yaml's default
    assert signin.client_secret is not None and "a-client-secret" not in repr(signin)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"oidcIssuerUrl": "http://issuer.example.com"}, "key 'mlplatform:oidcIssuerUrl'"),
        ({"oidcIssuerUrl": ""}, "is not an https issuer URL"),
        ({"oidcClientId": ""}, "key 'mlplatform:oidcClientId': '' is not a client id"),
        ({"oidcClientSecret": ""}, "key 'mlplatform:oidcClientSecret': (missing) is required with identityProvider"),
        ({"oidcScopes": '["email"]'}, "key 'mlplatform:oidcScopes': ['email'] is not a list of scopes with openid"),
        ({"oidcEmailClaim": "e mail"}, "key 'mlplatform:oidcEmailClaim': 'e mail' is not valid"),
        ({"users": [{"email": "a@example.com", "passwordHash": HASH}]}, "lists users, but identityProvider is oidc"),
    ],
)
def test_bad_oidc(change, expected):
    assert expected in error(**{**OIDC, **change})


def test_the_client_secret_must_be_secret():
    assert "key 'mlplatform:oidcClientSecret': '[not shown]' is stored in plain text" in error(**OIDC, secret=())


def test_oidc_settings_with_dex_are_a_mistake():
    assert "key 'mlplatform:oidcIssuerUrl': '[not shown]' is set, but identityProvider is dex" in error(
        oidcIssuerUrl=OIDC["oidcIssuerUrl"]
    )


def test_unknown_provider():
    assert "key 'mlplatform:identityProvider': 'ldap' is not allowed; allowed: dex, oidc" in error(
        identityProvider="ldap"
    )
