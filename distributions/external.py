"""External services: an existing database server or bucket given in the stack's config, used
by any distribution instead of the one it would create."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from distributions.database import DB_ADMIN_SECRET, server_outside_cluster
from inputs.external import ExternalDatabase, ExternalObjectStore
from inputs.teams import TeamSpec
from library import k8s
from library.context import PlatformContext
from library.secrets import secret
from library.services import ACCESS_KEY, OBJECT_STORE_SECRET, SECRET_KEY, Database, ObjectStore, TeamAccess, team_prefix


def external_database(
    name: str, parent: pulumi.Resource, platform: PlatformContext, given: ExternalDatabase, platform_part: bool = True
) -> tuple[Database, list[pulumi.Resource]]:
    """The admin Secret for an existing server; the components create their schemas on it."""
    if not platform_part:  # a team's stack: the admin Secret is the platform stack's
        return Database(host=given.host, port=given.port, admin_secret=DB_ADMIN_SECRET), []
    return server_outside_cluster(
        name, parent, platform, given.host, given.port, given.admin_user, given.admin_password.output()
    )


def external_object_store(
    name: str,
    parent: pulumi.Resource,
    platform: PlatformContext,
    teams: Sequence[TeamSpec],
    given: ExternalObjectStore,
    kind: str = "s3-compatible",
    platform_part: bool = True,
) -> tuple[ObjectStore, dict[str, TeamAccess], list[pulumi.Resource]]:
    """An existing bucket. With keys, the platform uses them and so does every team (a given bucket
    has one set of keys: each team still writes only below its own prefix, but the keys could reach
    the others'); without keys (aws), access comes from workload identity (see the distribution)."""
    resources: list[pulumi.Resource] = []
    secret_name = None
    if given.access_key is not None and given.secret_key is not None:
        secret_name = OBJECT_STORE_SECRET
    if secret_name and platform_part:
        _, labels = k8s.workload_labels("object-store", "backing-service")
        keys = {ACCESS_KEY: given.access_key.output(), SECRET_KEY: given.secret_key.output()}
        resources = list(
            k8s.apply(
                [secret(OBJECT_STORE_SECRET, platform.namespace, labels, keys)],
                f"{name}-object-store",
                parent,
                depends_on=[platform.namespace_resource],
            ).values()
        )
    store = ObjectStore(
        kind=kind,
        endpoint=given.endpoint,
        secure=given.secure,
        region=given.region,  # type: ignore[arg-type]
        bucket=given.bucket,
        credentials_secret=secret_name,
    )
    access = {
        t.name: TeamAccess(
            prefix=team_prefix(t.name),
            access_key=given.access_key.output() if given.access_key else None,
            secret_key=given.secret_key.output() if given.secret_key else None,
        )
        for t in teams
    }
    return store, access, resources
