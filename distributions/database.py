"""The admin Secret of the distribution's MySQL server, wherever the server runs (in the cluster,
a cloud's managed service, or the stack's own): the components' setup Jobs read it to create their
databases and accounts (library/accounts.py)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from library import k8s
from library.context import PlatformContext
from library.secrets import secret
from library.services import Database

DB_ADMIN_SECRET = "mysql-admin"


def admin_secret(
    platform: PlatformContext,
    host: pulumi.Input[str],
    port: int,
    user: str,
    pw: pulumi.Input[str],
    extra: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict:
    """The distribution's database admin Secret (keys host, port, username, password, and `extra`)."""
    _, labels = k8s.workload_labels("mysql", "backing-service")
    values = {"host": host, "port": str(port), "username": user, "password": pulumi.Output.secret(pw)}
    return secret(DB_ADMIN_SECRET, platform.namespace, labels, {**values, **(extra or {})})


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


def database_of_platform_stack(reference: pulumi.StackReference | None) -> Database:
    """In a team's stack: the platform stack's server (a cloud's), its address read from that stack's outputs."""
    if reference is None:
        raise TypeError("a team's stack needs DistributionArgs.platform_outputs (the platform stack)")
    return Database(host=reference.get_output("databaseHost"), port=3306, admin_secret=DB_ADMIN_SECRET)
