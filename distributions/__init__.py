"""Distributions: interchangeable providers of the platform's backing services."""

from __future__ import annotations

from distributions.base import BackingServices
from inputs.backing import Distribution


def select(distribution: Distribution) -> type[BackingServices]:
    """The BackingServices component of `distribution`.

    Each cloud SDK is imported only when its distribution is chosen: pulumi_azure_native alone takes
    seconds and hundreds of MiB to import, which every other stack would pay for nothing.
    """
    if distribution is Distribution.AWS:
        from distributions.aws import Aws

        return Aws
    if distribution is Distribution.AZURE:
        from distributions.azure import Azure

        return Azure
    from distributions.vanilla import Vanilla

    return Vanilla
