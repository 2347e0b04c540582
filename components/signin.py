"""SignIn: who may use the platform's web address. oauth2-proxy v7.15.6 checks every request the
gateway forwards, with a bundled Dex v2.45.1 (users from stack config) or an external OpenID Connect
issuer behind it.

The gateway (not this component) is the door: it removes any `kubeflow-userid`/`kubeflow-groups` a
client sends, asks oauth2-proxy (`ext_authz`) about every request but the sign-in flow itself
(`/dex/`, `/oauth2/`, which it routes here), and copies the identity headers oauth2-proxy answers
with onto the request. Both servers run in their own namespace and admit only the gateway (and
Dex, oauth2-proxy too).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

import pulumi
import yaml

from inputs.settings import Settings
from inputs.signin import IdentityProvider
from library import k8s
from library import signin as config
from library.context import Needs, PlatformContext, Shared
from library.manifests import render
from library.passwords import password
from library.routes import GATEWAY_NAMESPACE, GATEWAY_SELECTOR, Route
from library.secrets import secret
from library.signin import DEX, DEX_PORT, NAMESPACE, PROXY, PROXY_PORT


@dataclass(frozen=True)
class ExtAuthz:
    """Where the gateway asks whether a request is signed in, and what it copies from the answer."""

    host: str
    """oauth2-proxy's Service, fully qualified."""
    port: int
    """Its port."""
    path: str
    """The check: 202 and the identity headers when signed in (cookie or bearer token), 401 when not."""
    headers: tuple[str, ...]
    """Headers of a 202 the gateway copies onto the request (after removing the client's own)."""


@dataclass(frozen=True)
class SignInArgs:
    """Inputs of the sign-in."""

    platform: PlatformContext
    """Sizing and images."""
    settings: Settings
    """The host and the sign-in settings (users or the external issuer)."""
    namespace: pulumi.Resource
    """The sign-in's namespace (NAMESPACE)."""


def _digest(*parts: str) -> str:
    """A short digest, put on a pod template so that a change of its configuration restarts the pods
    (neither server reloads its files). Secret parts are bcrypt hashes or issuer client secrets,
    high-entropy values a 64-bit digest reveals nothing of."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _workload(platform: PlatformContext, name: str, port: int, files: dict, digest: str, **extra) -> dict:
    """What the templates need of one of the two servers."""
    selector, labels = k8s.workload_labels(name, "signin")
    sized = platform.sizing.of(name)
    return {
        "name": name,
        "selector": selector,
        "labels": labels,
        "image": platform.images[name],
        "replicas": sized.replicas,
        "resources": sized.resources,
        "scratch": sized.scratch,
        "port": port,
        "files": files,
        "digest": digest,
        **extra,
    }


class SignIn(pulumi.ComponentResource):
    """oauth2-proxy (the gateway's ext_authz service) and, by default, Dex, in NAMESPACE."""

    ext_authz: ExtAuthz
    """The gateway's check of every request."""
    issuer: str
    """The identity provider's issuer URL."""
    sign_out_path: str
    """Where a signed-in person signs out (the dashboard's logout link)."""

    slug: ClassVar[str] = "signin"
    namespaces: ClassVar[tuple[str, ...]] = (NAMESPACE,)
    per_team: ClassVar[bool] = False

    @classmethod
    def needs(cls, settings: Settings) -> Needs | None:
        """The sign-in flow's own paths, open to anyone: Dex's pages and oauth2-proxy's callback."""
        dex = settings.signin.provider is IdentityProvider.DEX
        return Needs(
            routes=(
                *([Route("/dex/", DEX, NAMESPACE, DEX_PORT, sign_in=False)] if dex else []),
                Route("/oauth2/", PROXY, NAMESPACE, PROXY_PORT, sign_in=False),
            )
        )

    @classmethod
    def build(cls, name: str, shared: Shared, opts: pulumi.ResourceOptions) -> SignIn:
        return cls(
            name,
            SignInArgs(platform=shared.platform, settings=shared.settings, namespace=shared.namespaces[NAMESPACE]),
            opts,
        )

    def __init__(self, name: str, args: SignInArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:index:SignIn", name, None, opts)
        platform, host, signin = args.platform, args.settings.host, args.settings.signin
        dex = signin.provider is IdentityProvider.DEX
        ns = NAMESPACE
        self.ext_authz = ExtAuthz(
            host=f"{PROXY}.{ns}.svc.cluster.local",
            port=PROXY_PORT,
            path=config.AUTH_PATH,
            headers=(config.USERID_HEADER, config.GROUPS_HEADER),
        )
        self.issuer = config.issuer(host) if dex else signin.issuer_url
        self.sign_out_path = config.SIGN_OUT_PATH

        if dex:
            client_secret: pulumi.Input[str] = password(f"{name}-client-secret", self, 32)
            proxy_secrets = []  # the generated ones never change
        else:
            assert signin.client_secret is not None  # inputs/signin.py requires it with oidc
            client_secret = signin.client_secret.output()
            proxy_secrets = [signin.client_secret.digest()]
        options = config.options_file(config.proxy_options(host))
        alpha = yaml.safe_dump(config.alpha_config(signin, host), sort_keys=False)
        proxy = _workload(
            platform,
            PROXY,
            PROXY_PORT,
            {"oauth2_proxy.cfg": options, "oauth2_proxy.yaml": alpha},
            _digest(options, alpha, *proxy_secrets),
            config_dir=config.CONFIG_DIR,
            secrets_dir=config.SECRETS_DIR,
        )
        proxy_values = {
            config.COOKIE_SECRET: password(f"{name}-cookie-secret", self, 32),
            config.CLIENT_SECRET: client_secret,
        }
        objects = [secret(PROXY, ns, proxy["labels"], proxy_values)]
        dex_workload = None
        if dex:
            dex_file = yaml.safe_dump(config.dex_config(host, signin.users), sort_keys=False)
            dex_values = {
                config.DEX_CLIENT_SECRET_ENV: client_secret,
                **{config.hash_env(i): u.password_hash.output() for i, u in enumerate(signin.users)},
            }
            dex_workload = _workload(
                platform,
                DEX,
                DEX_PORT,
                {"config.yaml": dex_file},
                _digest(dex_file, *(u.password_hash.digest() for u in signin.users)),
                # Each key of its Secret is the variable of the same name (hashFromEnv, secretEnv).
                env=[{"name": k, "valueFrom": {"secretKeyRef": {"name": DEX, "key": k}}} for k in dex_values],
            )
            objects.append(secret(DEX, ns, dex_workload["labels"], dex_values))
            if not signin.users:
                pulumi.log.warn(
                    "mlplatform:users is empty: nobody can sign in to the bundled Dex (see the README, Sign-in)", self
                )
        common = {"ns": ns, "proxy": proxy, "dex": dex_workload}
        objects += [
            *render("signin/ServiceAccount.yaml.j2", **common),
            *render("signin/ConfigMap.yaml.j2", **common),
            *render("signin/Deployment.yaml.j2", **common),
            *render("signin/Service.yaml.j2", **common),
            *render("signin/PodDisruptionBudget.yaml.j2", **common),
            *render(
                "signin/NetworkPolicy.yaml.j2",
                gateway_namespace=GATEWAY_NAMESPACE,
                gateway=GATEWAY_SELECTOR,
                external_issuer=not dex,
                **common,
            ),
        ]
        k8s.apply(objects, name, self, depends_on=[platform.namespace_resource, args.namespace])
        self.register_outputs({"issuer": self.issuer, "ext_authz": json.dumps(self.ext_authz.__dict__)})
