"""Generated passwords and keys: pulumi_random values, kept as Pulumi secrets wherever they go."""

from __future__ import annotations

import pulumi
import pulumi_random as random


def password(name: str, parent: pulumi.Resource, length: int, lower: bool | None = None) -> pulumi.Output[str]:
    """A generated password of letters and digits (a Pulumi secret), registered as `name` under `parent`.

    `lower=False` leaves out lower-case letters (S3 access key ids). `lower` is part of the
    resource's inputs, and changing it replaces the password: callers that never set it (None)
    and those that set it to True are kept apart so that no existing password changes.
    """
    generated = random.RandomPassword(
        name, length=length, special=False, lower=lower, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.secret(generated.result)
