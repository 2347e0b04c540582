"""mlplatform: read config and profiles, pick a distribution, build the Platform, export outputs."""

import pulumi
from pulumi.runtime import config as runtime_config

from components.frontdoor import FrontDoor
from components.platform import build, validate
from inputs.errors import InputError, InputErrors

# Every config key of the stack (all namespaces); validate() rejects unknown mlplatform: keys.
config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
secret_keys = frozenset(k for k in config if runtime_config.is_config_secret(k))
try:
    settings, teams = validate(config, pulumi.get_stack(), secret_keys)
except (InputError, InputErrors) as error:
    # A plain message, no traceback; raised before any resource is registered.
    raise pulumi.RunError(str(error)) from None

platform = build(settings, teams)

pulumi.export("distribution", settings.distribution.value)
pulumi.export("platformNamespace", platform.namespace)
pulumi.export("teamNamespaces", platform.team_namespaces)
pulumi.export("host", settings.host)
# Read by the teams' stacks (`mlplatform:teamStacks`): the one value only the platform stack knows.
pulumi.export("databaseHost", platform.database_host)
for key, value in platform.exports.items():
    pulumi.export(key, value)

door = platform.components.get(FrontDoor)  # in the platform's stack (a team's stack has none)
if door is not None:
    pulumi.export("url", door.url)
    if door.ca_pem is not None:
        # The CA of the generated entry certificate: import it into browsers (README, The address).
        pulumi.export("entryCaPem", door.ca_pem)
