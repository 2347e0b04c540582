"""The in-cluster SeaweedFS S3 store: the vanilla distribution's object store, and the azure
distribution's S3 gateway in front of Blob Storage (BlobRemote). Generated keys: the platform's on
the whole bucket, each team's on its prefix, written into the filer by one Job per team.
Resource names depend only on the owning component's name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from inputs.teams import TeamSpec
from library import k8s
from library.context import PlatformContext
from library.manifests import render
from library.network import Endpoint
from library.passwords import password
from library.secrets import secret
from library.services import ACCESS_KEY, OBJECT_STORE_SECRET, SECRET_KEY, ObjectStore, TeamAccess, team_prefix

BUCKET = "mlpipeline"
"""The platform bucket (the name Kubeflow Pipelines uses)."""
S3_CONFIG_SECRET = "seaweedfs-s3-config"

S3_ACTIONS = ("Read", "Write", "List", "Tagging")
"""What an identity may do; never `Admin` (bucket creation, policies, IAM)."""
IDENTITY_JOB_LABEL = "seaweedfs-identity"
"""`app.kubernetes.io/name` of the Jobs that write team identities into the filer (the only
clients admitted to the filer port)."""
FILER_SERVICE = "seaweedfs-filer"
IDENTITIES_DIR = "/etc/iam/identities"
"""Where SeaweedFS keeps one identity per file (weed/credential/filer_etc/filer_etc_identity.go);
the S3 gateway watches it and reloads on every change (weed/s3api/auth_credentials_subscribe.go)."""


def s3_identity(
    name: str, keys: tuple[str, str], scope: str, key_fields: tuple[str, str] = ("accessKey", "secretKey")
) -> dict:
    """One SeaweedFS identity: `keys` may do S3_ACTIONS on `scope` (a bucket, or `bucket/prefix*`).
    `key_fields` name the credential's fields (the file formats differ; see team_identity).

    SeaweedFS grants an action ending in `*` when it is a prefix of `<Action>:<bucket>/<key>`
    (weed/s3api/auth_credentials.go, canDo); a bare `<Action>:<bucket>` grants the bucket.
    """
    return {
        "name": name,
        "credentials": [dict(zip(key_fields, keys, strict=True))],
        "actions": [f"{action}:{scope}" for action in S3_ACTIONS],
    }


def platform_identities(keys: tuple[str, str]) -> str:
    """The `-s3.config` file: only the platform's identity, on the whole bucket. It does not
    change when teams come and go, so the store is not restarted for them."""
    return json.dumps({"identities": [s3_identity("mlplatform", keys, BUCKET)]}, indent=2, sort_keys=True)


def team_identity(team: str, keys: tuple[str, str]) -> str:
    """A team's identity file (`<IDENTITIES_DIR>/team-<team>.json`): its keys on its prefix only.

    The filer's identity store reads these files with Go's encoding/json into iam_pb.Identity, whose
    field tags are the proto names (`access_key`), not the camelCase the `-s3.config` file takes
    (weed/credential/filer_etc/filer_etc_identity.go, weed/pb/iam_pb/iam.pb.go).
    """
    identity = s3_identity(f"team-{team}", keys, f"{BUCKET}/{team_prefix(team)}*", ("access_key", "secret_key"))
    return json.dumps(identity, indent=2, sort_keys=True)


def identity_name(team: str) -> str:
    """Name of a team's identity Secret and Job in the platform namespace (at most 62 characters)."""
    return f"s3-identity-{team}"


def _digest(text: pulumi.Output[str]) -> pulumi.Output[str]:
    # A digest of high-entropy keys reveals nothing, so it is safe to keep in plain text.
    return pulumi.Output.unsecret(text.apply(lambda t: hashlib.sha256(t.encode()).hexdigest()))


def team_identity_objects(
    platform: PlatformContext, team: str, keys: tuple[pulumi.Output[str], pulumi.Output[str]]
) -> list[dict]:
    """A team's identity Secret and the Job that writes it into the filer, where the running
    gateway picks it up: adding or changing a team restarts nothing."""
    _, labels = k8s.workload_labels(IDENTITY_JOB_LABEL, "backing-service")
    name = identity_name(team)
    content = pulumi.Output.all(*keys).apply(lambda v: team_identity(team, (v[0], v[1])))
    identity = secret(name, platform.namespace, labels, {"identity.json": pulumi.Output.secret(content)})
    job = render(
        "seaweedfs/Job.yaml.j2",
        outputs={"identity_digest": _digest(content)},
        name=name,
        ns=platform.namespace,
        labels={**labels, "mlplatform.io/team": team},
        image=platform.images["seaweedfs"],
        secret=name,
        url=f"http://{FILER_SERVICE}.{platform.namespace}.svc.cluster.local:8888{IDENTITIES_DIR}/team-{team}.json",
    )[0]
    return [identity, job]


@dataclass(frozen=True)
class BlobRemote:
    """Azure Blob Storage that SeaweedFS mirrors the bucket to (remote.mount + filer.remote.sync)."""

    account: pulumi.Input[str]
    """Storage account name."""
    container: str
    """Blob container the bucket is mounted on."""
    key: pulumi.Output[str]
    """An account key (a Pulumi secret). SeaweedFS 4.53 could use Entra ID instead; not wired yet."""


def _store_objects(
    name: str,
    parent: pulumi.Resource,
    platform: PlatformContext,
    platform_keys: tuple[pulumi.Output[str], pulumi.Output[str]],
    remote: BlobRemote | None,
) -> dict:
    """The store itself: its static identities (the platform's only), StatefulSet, claim, Services, policy."""
    ns = platform.namespace
    selector, labels = k8s.workload_labels("seaweedfs", "backing-service")
    size = platform.sizing.of("seaweedfs")
    common = dict(ns=ns, labels=labels, selector=selector)
    config_json = pulumi.Output.all(*platform_keys).apply(lambda v: platform_identities((v[0], v[1])))
    config_values: dict[str, pulumi.Input[str]] = {"s3.json": pulumi.Output.secret(config_json)}
    if remote is not None:
        config_values |= {"azure-account": remote.account, "azure-key": pulumi.Output.secret(remote.key)}
    config = secret(S3_CONFIG_SECRET, ns, labels, config_values)
    platform_creds = secret(
        OBJECT_STORE_SECRET, ns, labels, {ACCESS_KEY: platform_keys[0], SECRET_KEY: platform_keys[1]}
    )

    statefulset = render(
        "seaweedfs/StatefulSet.yaml.j2",
        outputs={"config_digest": _digest(config_json)},
        image=platform.images["seaweedfs"],
        bucket=BUCKET,
        config_secret=S3_CONFIG_SECRET,
        resources=size.resources,
        scratch=size.scratch,
        remote_container=remote.container if remote else "",
        **common,
    )[0]
    return k8s.apply(
        [
            config,
            platform_creds,
            *render("seaweedfs/ServiceAccount.yaml.j2", **common),
            *render("seaweedfs/PersistentVolumeClaim.yaml.j2", volume=size.volume, **common),
            statefulset,
            *render("seaweedfs/Service.yaml.j2", **common),
            *render("seaweedfs/NetworkPolicy.yaml.j2", identity_job=IDENTITY_JOB_LABEL, **common),
        ],
        f"{name}-seaweedfs",
        parent,
        depends_on=[platform.namespace_resource],
        options=k8s.retain_volumes,
    )


def seaweedfs(
    name: str,
    parent: pulumi.Resource,
    platform: PlatformContext,
    teams: Sequence[TeamSpec],
    remote: BlobRemote | None = None,
    platform_part: bool = True,
) -> tuple[ObjectStore, dict[str, TeamAccess], list[pulumi.Resource]]:
    """The SeaweedFS S3 store on a retained claim, with generated keys: the platform's on the bucket,
    each team's on its prefix. With `remote`, the bucket is also written through to Blob Storage."""
    ns = platform.namespace
    selector, _ = k8s.workload_labels("seaweedfs", "backing-service")
    platform_keys = (
        (
            password(f"{name}-s3-platform-access", parent, 20, lower=False),
            password(f"{name}-s3-platform-secret", parent, 40, lower=True),
        )
        if platform_part
        else None
    )
    team_keys = {
        t.name: (
            password(f"{name}-s3-{t.name}-access", parent, 20, lower=False),
            password(f"{name}-s3-{t.name}-secret", parent, 40, lower=True),
        )
        for t in teams
    }
    created: dict = {}
    if platform_keys is not None:  # a team's stack holds only the team's keys and identity
        created = _store_objects(name, parent, platform, platform_keys, remote)
    # Each team's identity is its own batch, after the store is ready: the Job finds the filer up.
    for team, keys in team_keys.items():
        created |= k8s.apply(
            team_identity_objects(platform, team, keys),
            f"{name}-seaweedfs-{team}",
            parent,
            depends_on=[
                platform.namespace_resource,
                created.get(("StatefulSet", ns, "seaweedfs")),
                created.get(("Service", ns, FILER_SERVICE)),
            ],
        )
    store = ObjectStore(
        kind="s3-compatible",
        endpoint=f"seaweedfs.{ns}.svc.cluster.local:8333",
        secure=False,
        region="us-east-1",
        bucket=BUCKET,
        credentials_secret=OBJECT_STORE_SECRET,
        in_cluster=Endpoint("seaweedfs", selector, (8333,)),
    )
    access = {
        team: TeamAccess(prefix=team_prefix(team), access_key=keys[0], secret_key=keys[1])
        for team, keys in team_keys.items()
    }
    return store, access, list(created.values())
