"""The front door's Envoy configuration: every declared route behind one filter chain.

Filters, in order (research 6.1): strip any client-sent identity header; ask the sign-in service
(ext_authz, failing closed) on every route but the sign-in flow's own, copying the identity it
vouches for onto the request; on a team's route, admit only the members whose team role allows
the app (RBAC rendered from the profiles); then route. The connection manager routes on the
normalised path, merges slashes, redirects escaped slashes, drops headers with underscores (WSGI
servers read `kubeflow_userid` as `kubeflow-userid`) and allows websocket upgrades per route.
A route to apps named in the path (`Route.by_name`: notebooks, models) rewrites the host to the app's Service,
`<name>.<team>.svc.cluster.local`, which a dynamic forward proxy cluster resolves when the router
picks an upstream, after every check. (Not with the dynamic_forward_proxy HTTP filter as well: it
resolves the request's host before the router rewrites it, i.e. the platform's own public name.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from inputs.profile import TeamSpec
from library import envoy
from library.routes import GROUPS_HEADER, USERID_HEADER, Route

HTTP_PORT = 8080
"""Plain HTTP: behind an Ingress the only listener; with a LoadBalancer, a redirect to HTTPS."""
HTTPS_PORT = 8443
"""TLS, with a LoadBalancer Service (Envoy terminates TLS itself)."""
TLS_DIR = "/etc/envoy/tls"
"""Where the gateway's `kubernetes.io/tls` Secret is mounted (tls.crt, tls.key)."""
IDENTITY_HEADERS = (USERID_HEADER, GROUPS_HEADER)
"""Headers only the sign-in service may set; whatever a client sends under these names is removed."""

_TYPES = "type.googleapis.com/envoy.extensions"
EXT_AUTHZ = "envoy.filters.http.ext_authz"
RBAC = "envoy.filters.http.rbac"
CLUSTER_DOMAIN = "cluster.local"
"""The cluster's DNS domain (the platform has no setting for it: every in-cluster address it writes uses this)."""
APP_NAME = "[a-z0-9][-a-z0-9]*"
"""The name in a by-name route's path: one DNS label (Service names are), so no dot, slash or escape can
make `<name>.<team>.svc.cluster.local` name anything outside the team's namespace. (A longer name than a
label allows does not resolve; RE2's size limit keeps `{0,62}` out of the pattern.)"""


@dataclass(frozen=True)
class AuthCheck:
    """The sign-in service Envoy asks about every request (oauth2-proxy's contract: 2xx with the identity
    headers when signed in; otherwise a 302 to sign in, or 401 on API paths, passed back to the client).

    Envoy sends the check to the request's own path (`http_service.path_prefix` can only put something
    before it), so oauth2-proxy answers on its proxy route, whose one upstream is a static 200
    (components/signin.py): there an anonymous browser is redirected to sign in, while its exact
    `/oauth2/auth` endpoint would answer every anonymous request with a bare 401."""

    host: str
    """Its Service, fully qualified."""
    port: int
    """Its port."""
    headers: tuple[str, ...] = IDENTITY_HEADERS
    """Headers of its answer copied onto the request (only these; the client's own were removed)."""


def team_roles(team: TeamSpec) -> dict[str, set[str]]:
    """Every person of a team with the roles the team's RoleBindings give them (components/profiles.py:
    the owner is bound to admin, each member to their role)."""
    roles: dict[str, set[str]] = {team.owner: {"admin"}}
    for member in team.members:
        roles.setdefault(member.email, set()).add(member.role)
    return roles


def admitted(route: Route, team: TeamSpec) -> list[str]:
    """The people a team route admits: those with a role the route allows, sorted."""
    return sorted(person for person, roles in team_roles(team).items() if roles & set(route.roles))


def cluster_name(route: Route) -> str:
    """The upstream cluster of a route's Service (of a by-name route's kind of app: one for every team)."""
    if route.by_name is not None:
        return f"{route.service}-by-name"
    return f"{route.namespace}-{route.service}-{route.port}"


def _rbac(route: Route, team: TeamSpec) -> dict:
    people = admitted(route, team)
    principals = [{"header": {"name": USERID_HEADER, "string_match": {"exact": person}}} for person in people]
    policies = {f"{team.name}-members": {"permissions": [{"any": True}], "principals": principals}} if people else {}
    return {
        "@type": f"{_TYPES}.filters.http.rbac.v3.RBACPerRoute",
        "rbac": {"rules": {"action": "ALLOW", "policies": policies}},
    }


def envoy_route(route: Route, teams: Mapping[str, TeamSpec]) -> dict:
    """One Envoy route: match on the prefix, rewrite, headers, timeout, websockets, and per-route filters."""
    action: dict = {"cluster": cluster_name(route), "timeout": f"{route.timeout_seconds}s"}
    if route.rewrite is not None and route.by_name is None:
        action["prefix_rewrite"] = route.rewrite
    if route.websocket:
        action["upgrade_configs"] = [{"upgrade_type": "websocket", "enabled": True}]
    match: dict = {"prefix": route.prefix}
    if route.by_name is not None:
        # Only a path naming an app matches; the app's Service, in the route's namespace, becomes the host
        # the forward proxy resolves (the request's own host goes on in x-forwarded-host).
        folder = f"{re.escape(route.prefix)}({APP_NAME})/"
        named = f"{folder}.*"
        match = {"safe_regex": {"regex": named}}
        service = f"\\1{route.by_name.service_suffix}.{route.namespace}.svc.{CLUSTER_DOMAIN}:{route.port}"
        action["host_rewrite_path_regex"] = {"pattern": {"regex": f"^{named}$"}, "substitution": service}
        action["append_x_forwarded_host"] = True
        if route.rewrite is not None:  # the prefix and the name (tensorboards are served at `/`)
            action["regex_rewrite"] = {"pattern": {"regex": f"^{folder}"}, "substitution": route.rewrite}
    entry: dict = {"match": match, "route": action}
    if route.headers:
        entry["request_headers_to_add"] = [
            {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
            for key, value in sorted(route.headers.items())
        ]
    per_filter: dict = {}
    if not route.sign_in:
        per_filter[EXT_AUTHZ] = {"@type": f"{_TYPES}.filters.http.ext_authz.v3.ExtAuthzPerRoute", "disabled": True}
    if route.team is not None:
        per_filter[RBAC] = _rbac(route, teams[route.team])
    if per_filter:
        entry["typed_per_filter_config"] = per_filter
    return entry


def by_name_routes(route: Route, teams: Mapping[str, TeamSpec]) -> list[dict]:
    """A by-name route, then a bare app name redirected to its `/`, then anything else below the prefix
    (no name, or one that is not a DNS label) answered 404. Only the first reaches an app, so only it
    carries the team's membership check (the others answer anyone alike, and keep the ConfigMap small)."""
    if route.team is None or route.namespace != teams[route.team].namespace:
        raise ValueError(f"a by-name route is a team's, to the team's namespace: {route.prefix} ({route.namespace})")
    bare = f"{re.escape(route.prefix)}{APP_NAME}"
    add_slash = {"regex_rewrite": {"pattern": {"regex": "^(.*)$"}, "substitution": "\\1/"}}
    return [
        envoy_route(route, teams),
        {"match": {"safe_regex": {"regex": bare}}, "redirect": add_slash},
        {"match": {"prefix": route.prefix}, "direct_response": {"status": 404}},
    ]


def envoy_routes(routes: Iterable[Route], teams: Mapping[str, TeamSpec]) -> list[dict]:
    """Every route, longest prefix first (Envoy takes the first match); a prefix ending in `/` also
    answers its bare path with a redirect to it (`/pipeline` vs `/mlflow/<team>/`); a by-name route
    serves its prefix as `by_name_routes` says."""
    ordered = sorted(routes, key=lambda r: (-len(r.prefix), r.prefix))
    prefixes = [r.prefix for r in ordered]
    if len(set(prefixes)) != len(prefixes):
        twice = sorted({p for p in prefixes if prefixes.count(p) > 1})
        raise ValueError(f"two components declare the same path: {twice}")
    bare = [
        {"match": {"path": r.prefix.rstrip("/")}, "redirect": {"path_redirect": r.prefix}}
        for r in ordered
        if r.prefix.endswith("/") and len(r.prefix) > 1 and r.prefix.rstrip("/") not in prefixes and not r.by_name
    ]
    served = (by_name_routes(r, teams) if r.by_name else [envoy_route(r, teams)] for r in ordered)
    return [*bare, *(entry for entries in served for entry in entries)]


def dns_cache() -> dict:
    """The forward proxy clusters' DNS cache (one, shared: same name, same settings): names resolved as
    given, through the pod's resolver (no search domains: they are fully qualified), re-resolved every
    10 s so that a recreated app's new Service address is used soon."""
    resolver = {
        "@type": f"{_TYPES}.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
        "dns_resolver_options": {"no_default_search_domain": True},
    }
    return {
        "name": "team-apps",
        "dns_lookup_family": "V4_PREFERRED",
        "dns_refresh_rate": "10s",
        "typed_dns_resolver_config": {"name": "envoy.network.dns_resolver.cares", "typed_config": resolver},
    }


def cluster_of(route: Route) -> dict:
    """The upstream cluster of a route: its Service by name, or the forward proxy of its kind of app."""
    if route.by_name is not None:
        return envoy.forward_proxy_cluster(cluster_name(route), dns_cache(), connect_timeout="5s")
    host = f"{route.service}.{route.namespace}.svc.{CLUSTER_DOMAIN}"
    return envoy.cluster(cluster_name(route), host, route.port, connect_timeout="5s")


def filters(auth: AuthCheck) -> list[dict]:
    """The HTTP filters, in the order they run."""
    strip = envoy.http_filter(
        "envoy.filters.http.header_mutation",
        f"{_TYPES}.filters.http.header_mutation.v3.HeaderMutation",
        {"mutations": {"request_mutations": [{"remove": h} for h in IDENTITY_HEADERS]}},
    )

    def patterns(*names: str) -> dict:
        return {"patterns": [{"exact": name} for name in names]}

    check = envoy.http_filter(
        EXT_AUTHZ,
        f"{_TYPES}.filters.http.ext_authz.v3.ExtAuthz",
        {
            "transport_api_version": "V3",
            # No answer, an error or a timeout refuses the request (fail closed).
            "failure_mode_allow": False,
            "status_on_error": {"code": "Forbidden"},
            # What oauth2-proxy reads: the session cookie, a bearer token, and whether the client wants JSON.
            "allowed_headers": patterns("cookie", "authorization", "accept", "x-requested-with"),
            "http_service": {
                "server_uri": {"uri": f"http://{auth.host}:{auth.port}", "cluster": "sign-in", "timeout": "5s"},
                "authorization_response": {
                    # The only way the identity headers reach an app: copied from a successful check.
                    "allowed_upstream_headers": patterns(*auth.headers),
                    # A refusal goes back as the sign-in service wrote it (302 to sign in, 401, cookies).
                    "allowed_client_headers": patterns("location", "set-cookie", "content-type", "www-authenticate"),
                    "allowed_client_headers_on_success": patterns("set-cookie"),
                },
            },
        },
    )
    authorize = envoy.http_filter(RBAC, f"{_TYPES}.filters.http.rbac.v3.RBAC")
    return [strip, check, authorize, envoy.ROUTER]


def to_https() -> dict:
    """Behind an Ingress: a request the controller received over plain HTTP (its `x-forwarded-proto`, or
    Envoy's own scheme when no trusted proxy set one) is redirected to HTTPS before anything else runs.
    (A virtual host's `require_tls` would answer only in the router, after the sign-in check.)"""
    not_https = {"name": "x-forwarded-proto", "string_match": {"exact": "https"}, "invert_match": True}
    return {
        "match": {"prefix": "/", "headers": [not_https]},
        "redirect": {"https_redirect": True},
        "typed_per_filter_config": {
            EXT_AUTHZ: {"@type": f"{_TYPES}.filters.http.ext_authz.v3.ExtAuthzPerRoute", "disabled": True}
        },
    }


def manager_options(behind_proxy: bool) -> dict:
    """Connection-manager hardening; behind an Ingress the one proxy hop before Envoy is trusted for
    `x-forwarded-for`/`x-forwarded-proto` (so the redirect to HTTPS follows the client's scheme)."""
    return {
        "use_remote_address": True,
        "xff_num_trusted_hops": 1 if behind_proxy else 0,
        "path_with_escaped_slashes_action": "UNESCAPE_AND_REDIRECT",
        "common_http_protocol_options": {"headers_with_underscores_action": "DROP_HEADER"},
        # Off unless a route turns it on (Route.websocket).
        "upgrade_configs": [{"upgrade_type": "websocket", "enabled": False}],
    }


def _tls() -> dict:
    certificate = {
        "certificate_chain": {"filename": f"{TLS_DIR}/tls.crt"},
        "private_key": {"filename": f"{TLS_DIR}/tls.key"},
        # A renewed Secret (kubelet swaps the mounted files) is picked up without a restart.
        "watched_directory": {"path": TLS_DIR},
    }
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": f"{_TYPES}.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {"tls_certificates": [certificate], "alpn_protocols": ["h2", "http/1.1"]},
        },
    }


def bootstrap(routes: Sequence[Route], teams: Iterable[TeamSpec], auth: AuthCheck, terminate_tls: bool) -> str:
    """The gateway's whole configuration. `terminate_tls`: Envoy holds the certificate (LoadBalancer
    entry) and its HTTP listener only redirects; otherwise an Ingress terminates TLS in front of the one
    HTTP listener, which redirects requests the Ingress received over plain HTTP."""
    if unplaced := sorted(r.prefix for r in routes if r.namespace is None):
        raise ValueError(f"routes without a namespace (the caller places them): {unplaced}")
    by_name = {t.name: t for t in teams}
    unknown = sorted({r.team for r in routes if r.team is not None} - set(by_name))
    if unknown:
        raise ValueError(f"routes of teams that do not exist: {unknown}")
    kind = {"codec": "AUTO", "normalize_path": True, "filters": filters(auth), "virtual_host": "platform"}
    served = envoy_routes(routes, by_name)
    if terminate_tls:
        front = envoy.listener(
            "https", HTTPS_PORT, served, options=manager_options(False), transport_socket=_tls(), **kind
        )
        redirect = [{"match": {"prefix": "/"}, "redirect": {"https_redirect": True}}]
        listeners = [front, envoy.listener("http", HTTP_PORT, redirect, options=manager_options(False))]
    else:
        front = envoy.listener("http", HTTP_PORT, [to_https(), *served], options=manager_options(True), **kind)
        listeners = [front]
    upstreams = {cluster_name(r): r for r in routes}
    clusters = [
        envoy.cluster("sign-in", auth.host, auth.port, connect_timeout="5s"),
        *(cluster_of(r) for _, r in sorted(upstreams.items())),
    ]
    return envoy.config(listeners, clusters)
