"""The backing services every distribution supplies, as plain data components consume.

Components find credentials in Kubernetes Secrets by the names given here and never learn
which distribution they run on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from library.network import Endpoint

OBJECT_STORE_SECRET = "object-store-credentials"
"""Name of the Secret with object-store keys (ACCESS_KEY, SECRET_KEY), when the store uses keys:
the platform's in the platform namespace, each team's (limited to its prefix) in its namespace."""
ACCESS_KEY = "accesskey"
"""Key of the access key id in every object-store credentials Secret."""
SECRET_KEY = "secretkey"
"""Key of the secret access key in every object-store credentials Secret."""


@dataclass(frozen=True)
class Database:
    """A MySQL 8-compatible server on which each component creates its own schema and user."""

    host: pulumi.Input[str]
    """Host name that pods in the cluster resolve to the server."""
    port: int
    """TCP port of the MySQL protocol."""
    admin_secret: str
    """Secret in the platform namespace with keys `host`, `port`, `username`, `password` of an
    account allowed to create databases and users (used only by the components' setup Jobs)."""
    in_cluster: Endpoint | None = None
    """The server's pods, when it runs in the platform namespace: each account's NetworkPolicy
    admits its setup Job and its component there. None for a server outside the cluster."""


StoreKind = Literal["s3-compatible", "aws-s3"]


@dataclass(frozen=True)
class ObjectStore:
    """An S3-API bucket for artifacts. Plain values: they are rendered into component config."""

    kind: StoreKind
    """`s3-compatible`: an S3 API reached by endpoint with path-style URLs (SeaweedFS, MinIO, ...);
    `aws-s3`: Amazon S3 (virtual-hosted URLs, the AWS SDKs' credential chain)."""
    endpoint: str
    """host[:port] of the S3 API as seen from pods, e.g. `seaweedfs.kubeflow.svc.cluster.local:8333`."""
    secure: bool
    """True when the endpoint speaks TLS."""
    region: str
    """Region name the S3 client signs requests for."""
    bucket: str
    """The platform's bucket; teams use prefixes below it."""
    credentials_secret: str | None
    """Secret in the platform namespace with keys ACCESS_KEY, SECRET_KEY for platform components,
    or None when platform components authenticate by workload identity."""
    in_cluster: Endpoint | None = None
    """The store's pods, when it runs in the platform namespace (team pods are admitted to them);
    None for a store outside the cluster."""


@dataclass(frozen=True)
class TeamAccess:
    """How one team's workloads reach the object store, limited to the team's own prefix."""

    prefix: str
    """Key prefix (below the bucket, no leading slash, ending in '/') the team may read and write."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations for the team's workload ServiceAccounts (IRSA role, workload identity client id)."""
    access_key: pulumi.Output[str] | None = None
    """Key id limited to the prefix, when the store uses keys (a Pulumi secret); None with identity."""
    secret_key: pulumi.Output[str] | None = None
    """Secret key matching `access_key` (a Pulumi secret)."""


def team_prefix(team: str) -> str:
    """The key prefix of a team's artifacts (the layout Kubeflow Pipelines' multi-user mode uses)."""
    return f"private-artifacts/{team}/"
