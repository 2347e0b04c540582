"""The admin Secret of the distribution's MySQL server, wherever the server runs (in the cluster,
a cloud's managed service, or the stack's own): the components' setup Jobs read it to create their
databases and accounts (library/accounts.py)."""

from __future__ import annotations

import pulumi

from library import k8s
from library.context import PlatformContext
from library.manifests import render
from library.services import Database

DB_ADMIN_SECRET = "mysql-admin"


def admin_secret(
    platform: PlatformContext, host: pulumi.Input[str], port: int, user: str, pw: pulumi.Input[str]
) -> dict:
    """The distribution's database admin Secret (keys host, port, username, password)."""
    _, labels = k8s.workload_labels("mysql", "backing-service")
    secret = render("mysql/Secret.yaml.j2", name=DB_ADMIN_SECRET, ns=platform.namespace, labels=labels)[0]
    secret["stringData"] = {"host": host, "port": str(port), "username": user, "password": pulumi.Output.secret(pw)}
    return secret


def server_outside_cluster(
    name: str,
    parent: pulumi.Resource,
    platform: PlatformContext,
    host: pulumi.Input[str],
    port: int,
    user: str,
    pw: pulumi.Input[str],
) -> tuple[Database, list[pulumi.Resource]]:
    """A database server that runs elsewhere (a cloud's, or the stack's own): its admin Secret."""
    created = k8s.apply(
        [admin_secret(platform, host, port, user, pw)],
        f"{name}-database",
        parent,
        depends_on=[platform.namespace_resource],
    )
    return Database(host=host, port=port, admin_secret=DB_ADMIN_SECRET), list(created.values())
