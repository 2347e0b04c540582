"""The in-cluster MySQL 8.4 server of the vanilla distribution: a StatefulSet on a retained claim."""

from __future__ import annotations

import pulumi

from distributions.database import DB_ADMIN_SECRET, admin_secret
from library import k8s
from library.context import PlatformContext
from library.manifests import render
from library.network import Endpoint
from library.passwords import password
from library.services import Database


def _sql_string(value: str) -> str:
    """A single-quoted MySQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def root_password_sql(pw: str) -> str:
    """Statements (one per line, as --init-file wants them) giving root the password `pw`.

    Run by the server at every start on an existing data directory, so a data volume that outlived
    `pulumi destroy` takes the newly generated password instead of locking every setup Job out. Root
    uses 8.4's default plugin, caching_sha2_password (also for data directories made before).
    """
    return "".join(
        f"ALTER USER IF EXISTS 'root'@'{host}' IDENTIFIED WITH caching_sha2_password BY {_sql_string(pw)};\n"
        for host in ("%", "localhost")
    )


def mysql(
    name: str, parent: pulumi.Resource, platform: PlatformContext, platform_part: bool = True
) -> tuple[Database, list[pulumi.Resource]]:
    """A MySQL 8.4 StatefulSet on a retained claim, root password generated (and re-applied at each start)."""
    ns = platform.namespace
    selector, labels = k8s.workload_labels("mysql", "backing-service")
    size = platform.sizing.of("mysql")
    common = dict(ns=ns, labels=labels, selector=selector)
    host = f"mysql.{ns}.svc.cluster.local"
    # No policy of its own: each database account admits its clients (library/accounts.py).
    server = Endpoint("mysql", selector, (3306,))
    database = Database(host=host, port=3306, admin_secret=DB_ADMIN_SECRET, in_cluster=server)
    if not platform_part:  # a team's stack: the server is the platform stack's
        return database, []
    root = password(f"{name}-mysql-root", parent, 32, lower=True)
    # init.sql re-applies the root password at each start (so it survives destroy -> up).
    admin = admin_secret(
        platform, host, 3306, "root", root, extra={"init.sql": pulumi.Output.secret(root.apply(root_password_sql))}
    )
    created = k8s.apply(
        [
            admin,
            *render("mysql/ServiceAccount.yaml.j2", **common),
            *render("mysql/PersistentVolumeClaim.yaml.j2", volume=size.volume, **common),
            *render(
                "mysql/StatefulSet.yaml.j2",
                image=platform.images["mysql"],
                admin_secret=DB_ADMIN_SECRET,
                resources=size.resources,
                scratch=size.scratch,
                **common,
            ),
            *render("mysql/Service.yaml.j2", **common),
        ],
        f"{name}-mysql",
        parent,
        depends_on=[platform.namespace_resource],
        options=k8s.retain_volumes,
    )
    return database, list(created.values())
