"""Names and the team role condition of the azure distribution's resources: pure functions of the
stack's settings, kept stable (a changed name replaces the resource)."""

from __future__ import annotations

import hashlib
import re

from inputs.azure import AzureConfig

BLOB_DATA_ACTIONS = tuple(
    f"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{a}"
    for a in ("read", "write", "add/action", "delete")
)
"""What a team's identity may do, and all of it: the data actions `team_condition` narrows to the
team's folder (the built-in Storage Blob Data Contributor's, without its control-plane actions)."""
TEAMS_CONTAINER = "teams"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def storage_account_name(cfg: AzureConfig, stack: str) -> str:
    """A stable, globally unique account name (3-24 lower-case letters and digits)."""
    return "mlp" + digest(cfg.resource_group, cfg.location, stack)[:21]


def team_condition(team: str) -> str:
    """An ABAC condition: blob reads, writes and deletes only below `<team>/` of the teams container,
    listing only with that prefix (Azure role-assignment conditions, version 2.0)."""
    actions = "".join(f"!(ActionMatches{{'{a}'}}) AND " for a in BLOB_DATA_ACTIONS[1:])
    return (
        "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} "
        "AND NOT SubOperationMatches{'Blob.List'}) AND " + actions.removesuffix(" AND ") + ") OR ("
        f"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals '{TEAMS_CONTAINER}' "
        f"AND @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike '{team}/*'))"
        " AND ((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} "
        "AND SubOperationMatches{'Blob.List'})) OR ("
        "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix] "
        f"StringStartsWith '{team}/'))"
    )
