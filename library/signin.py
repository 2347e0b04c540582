"""The sign-in's configuration files, as plain data: Dex's config.yaml and oauth2-proxy's two files.

Pure functions of the validated settings, so the component renders them into ConfigMaps and the
process test runs the real Dex and oauth2-proxy with exactly these files. No secret passes through
here: Dex reads each password hash and the client secret from its environment (`hashFromEnv`,
`secretEnv`), oauth2-proxy reads its cookie and client secrets from files (`*_file`, `*File`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from inputs.signin import IdentityProvider, SignInConfig, User

NAMESPACE = "kubeflow-auth"
"""Where Dex and oauth2-proxy run (a namespace of their own, admitting only the gateway)."""
DEX = "dex"
"""Name of Dex's Deployment, Service, ConfigMap and Secret."""
DEX_PORT = 5556
PROXY = "oauth2-proxy"
"""Name of oauth2-proxy's Deployment, Service, ConfigMap and Secret."""
PROXY_PORT = 4180
AUTH_PATH = "/oauth2/auth"
"""oauth2-proxy's check: 202 with the identity headers for a signed-in request, 401 otherwise."""
SIGN_OUT_PATH = "/oauth2/sign_out"
CLIENT_ID = "mlplatform"
"""The platform's client at the bundled Dex (not a secret; its secret is generated)."""
USERID_HEADER = "kubeflow-userid"
GROUPS_HEADER = "kubeflow-groups"
"""The identity headers every Kubeflow web app trusts, set only from a verified sign-in."""
COOKIE_NAME = "oauth2_proxy_kubeflow"
"""As upstream (kubeflow/manifests common/oauth2-proxy/base/oauth2_proxy.cfg)."""
CONFIG_DIR = "/etc/oauth2-proxy"
SECRETS_DIR = "/etc/oauth2-proxy/secrets"
COOKIE_SECRET, CLIENT_SECRET = "cookie-secret", "client-secret"
"""Keys of oauth2-proxy's Secret, mounted as files in SECRETS_DIR."""
DEX_CLIENT_SECRET_ENV = "OIDC_CLIENT_SECRET"
DEX_SCOPES = ("openid", "email", "profile", "groups")
_USER_IDS = uuid.UUID("6f1c3a52-8b0e-4d7e-9a41-5a4f3e0c2b17")
"""Namespace of the users' Dex ids: a user keeps the same `sub` from run to run."""


def issuer(host: str) -> str:
    """Dex's issuer as browsers and token holders see it: `https://<host>/dex` through the gateway."""
    return f"https://{host}/dex"


def dex_url(cluster_domain: str = "cluster.local") -> str:
    """Dex inside the cluster, where oauth2-proxy redeems codes and fetches keys (no TLS, no hairpin)."""
    return f"http://{DEX}.{NAMESPACE}.svc.{cluster_domain}:{DEX_PORT}/dex"


def hash_env(index: int) -> str:
    """The environment variable holding user `index`'s bcrypt hash in Dex's pod."""
    return f"DEX_PASSWORD_HASH_{index}"


def dex_config(host: str, users: Sequence[User]) -> dict:
    """Dex's config.yaml.

    Storage `memory`, one replica: Dex keeps only its signing keys and logins in flight. A restart
    (new keys) costs signed-in people nothing, since oauth2-proxy's session cookie does not go back
    to Dex (cookie_refresh 0); it ends logins in flight and Dex-issued bearer tokens. In exchange
    Dex needs no CRDs, no ClusterRole or Role, no ServiceAccount token and no egress at all, where
    the `kubernetes` storage would need its CRDs and a Role on them (research 6.1).
    """
    return {
        "issuer": issuer(host),
        "storage": {"type": "memory"},
        "web": {"http": f"0.0.0.0:{DEX_PORT}"},
        "logger": {"level": "info", "format": "json"},
        "oauth2": {"skipApprovalScreen": True, "responseTypes": ["code"]},
        "enablePasswordDB": True,
        "staticPasswords": [
            {
                "email": user.email,
                "hashFromEnv": hash_env(i),
                "username": user.email.partition("@")[0],
                "userID": str(uuid.uuid5(_USER_IDS, user.email.lower())),
                **({"groups": list(user.groups)} if user.groups else {}),
            }
            for i, user in enumerate(users)
        ],
        "staticClients": [
            {
                "id": CLIENT_ID,
                "secretEnv": DEX_CLIENT_SECRET_ENV,
                "name": "mlplatform",
                "redirectURIs": [f"https://{host}/oauth2/callback"],
            }
        ],
    }


def proxy_options(host: str) -> dict[str, object]:
    """oauth2-proxy's (non-alpha) options, as upstream's oauth2_proxy.cfg where they apply."""
    return {
        "email_domains": ["*"],
        "cookie_name": COOKIE_NAME,
        "cookie_secret_file": f"{SECRETS_DIR}/{COOKIE_SECRET}",
        "cookie_secure": True,
        "cookie_expire": "24h",  # upstream: Dex's ID-token lifetime
        "cookie_refresh": "0s",
        "redirect_url": f"https://{host}/oauth2/callback",
        # Where `rd` (after sign-in or sign-out) may send a browser besides relative paths: this host only.
        "whitelist_domains": [host],
        "skip_provider_button": True,
        # Callers without a cookie may send a JWT the provider issued (upstream ENABLE_M2M_TOKENS).
        "skip_jwt_bearer_tokens": True,
        # A path of these answers 401 instead of a redirect to sign in (upstream's list).
        "api_routes": ["^/api/", "^/apis/", "^/ml_metadata"],
    }


def options_file(options: Mapping[str, object]) -> str:
    """The options as oauth2_proxy.cfg (TOML: every value written as a JSON scalar or list)."""
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())


def _provider(signin: SignInConfig, host: str) -> dict:
    common = {
        "provider": "oidc",
        "clientSecretFile": f"{SECRETS_DIR}/{CLIENT_SECRET}",
        "code_challenge_method": "S256",
    }
    if signin.provider is IdentityProvider.DEX:
        return {
            "id": "dex",
            "clientID": CLIENT_ID,
            **common,
            "scope": " ".join(DEX_SCOPES),
            # The browser signs in through the gateway; codes and keys are fetched from Dex directly,
            # so discovery (which would go to the public https address) is skipped.
            "loginURL": f"{issuer(host)}/auth",
            "redeemURL": f"{dex_url()}/token",
            "oidcConfig": {
                "issuerURL": issuer(host),
                "skipDiscovery": True,
                "jwksURL": f"{dex_url()}/keys",
                "emailClaim": "email",
                "groupsClaim": "groups",
                "audienceClaims": ["aud"],
            },
        }
    return {
        "id": "oidc",
        "clientID": signin.client_id,
        **common,
        "scope": " ".join(signin.scopes),
        "oidcConfig": {
            "issuerURL": signin.issuer_url,
            "emailClaim": signin.email_claim,
            "groupsClaim": signin.groups_claim,
            "audienceClaims": ["aud"],
        },
    }


def alpha_config(signin: SignInConfig, host: str) -> dict:
    """oauth2-proxy's alpha config: the provider, and the identity it answers the gateway with.

    As upstream, oauth2-proxy is an authorization service behind the gateway, not a proxy: its one
    upstream is a static 200. Asked at AUTH_PATH (or at any other path) it answers with
    `kubeflow-userid` from the e-mail and `kubeflow-groups` from the groups of the session or bearer
    token (injectResponseHeaders), which the gateway copies onto the request after removing the
    client's own copies. No token is passed on to the apps.
    """
    return {
        "server": {"bindAddress": f"0.0.0.0:{PROXY_PORT}"},
        "upstreamConfig": {"upstreams": [{"id": "signed-in", "path": "/", "static": True, "staticCode": 200}]},
        "injectResponseHeaders": [
            {"name": USERID_HEADER, "values": [{"claimSource": {"claim": "email"}}]},
            {"name": GROUPS_HEADER, "values": [{"claimSource": {"claim": "groups"}}]},
        ],
        "providers": [_provider(signin, host)],
    }
