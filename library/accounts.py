"""A component's own databases and account on the distribution's MySQL server.

Every component that stores data gets its own schemas and its own account with a generated
password (a Pulumi secret), created by an idempotent Job that uses the distribution's admin
Secret. Components then read only their own Secret; the admin account never reaches them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi

from library import k8s
from library.context import PlatformContext
from library.manifests import render
from library.passwords import password as generated_password
from library.secrets import secret
from library.services import Database

AuthPlugin = Literal["caching_sha2_password", "mysql_native_password"]


@dataclass(frozen=True)
class DatabaseAccount:
    """What a component's pods need to connect: the Secret holding host, port, database, username, password."""

    secret: str
    """Name of the Secret (in the platform namespace)."""
    values: dict
    """The Secret's contents (host, port, database, username, password; the password a Pulumi
    secret), for a component that copies them or derives a connection file from them."""


def _mysql_user(name: str) -> str:
    """A MySQL account name (at most 32 characters), unique per component account name."""
    user = name.replace("-", "_")
    if len(user) <= 32:
        return user
    return f"{user[:23]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def account_objects(
    name: str,
    prefix: str,
    platform: PlatformContext,
    database: Database,
    databases: Sequence[str],
    labels: dict[str, str],
    parent: pulumi.Resource,
    auth_plugin: AuthPlugin = "caching_sha2_password",
    client_namespace: str | None = None,
    derived: Callable[[Mapping[str, pulumi.Input[str]]], Mapping[str, pulumi.Input[str]]] | None = None,
) -> tuple[DatabaseAccount, list[dict]]:
    """The Secret, setup Job (and, for a server in the cluster, the NetworkPolicy admitting the Job and
    the component's pods to it) of account `name` owning `databases`; register them with the component's batch.

    `labels` label the Secret; the Job and its pods are labelled as their own workload.

    `auth_plugin`: ML Metadata's MySQL client still needs mysql_native_password; everything else
    uses MySQL 8's default. `client_namespace`: where the component's pods run, when not in the
    platform namespace. `derived`: more Secret keys computed from the account's values (e.g. a client's
    connection file), so a component reads everything about its account from one Secret.
    """
    password = generated_password(f"{prefix}-db-password", parent, 32)
    secret_name = f"{name}-db"
    values = {
        "host": database.host,
        "port": str(database.port),
        "database": databases[0],
        "username": _mysql_user(name),
        "password": password,
    }
    if derived is not None:
        values.update(derived(values))
    account_secret = secret(secret_name, platform.namespace, labels, values)
    # The Job's pods get labels of their own: with the component's, its Services and NetworkPolicies would select them.
    _, job_labels = k8s.workload_labels(f"{name}-db-setup", "database-setup")
    job = render(
        "database/Job.yaml.j2",
        name=f"{name}-db-setup",
        ns=platform.namespace,
        labels=job_labels,
        image=platform.images["mysql"],
        databases=list(databases),
        auth_plugin=auth_plugin,
        admin_secret=database.admin_secret,
        user_secret=secret_name,
    )[0]
    account = DatabaseAccount(
        secret=secret_name,
        values=values,
    )
    objects = [account_secret, job]
    if database.in_cluster is not None:
        # The server runs in the platform namespace, which admits nobody by default.
        objects += render(
            "database/NetworkPolicy.yaml.j2",
            name=f"mysql-{name}",
            ns=platform.namespace,
            labels=labels,
            server=dict(database.in_cluster.selector),
            port=database.port,
            job=job["metadata"]["name"],
            client={k: labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")},
            client_namespace=client_namespace,
        )
    return account, objects
