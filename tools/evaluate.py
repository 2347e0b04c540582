"""Run the Pulumi program in-process against the Pulumi SDK's mock engine and record what it registers.

Used by the tests, the render command and the benchmark: the program is exactly what
`pulumi up` runs (components.platform), only the engine is the SDK's mock monitor. Each
registration keeps its type, name, parent, inputs (secret values still wrapped as secrets)
and the options the engine would receive (retainOnDelete, protect, dependencies, ...).
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"


def is_secret(value: Any) -> bool:
    """True for a value the engine would receive as a secret."""
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK


def reveal(value: Any, secret: Callable[[Any], Any] = lambda v: v) -> Any:
    """`value` with every secret wrapper replaced by `secret(inner value)` (by default the value
    itself), recursively, and whole floats back to ints (the engine's wire format carries every
    number as a double)."""
    if is_secret(value):
        return secret(reveal(value["value"], secret))
    if isinstance(value, dict):
        return {k: reveal(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, secret) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def contains_secret(value: Any) -> bool:
    """True when any part of `value` is a secret."""
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


@dataclass
class Registration:
    """One resource as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict
    retain_on_delete: bool
    protect: bool
    dependencies: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:")

    @property
    def object(self) -> dict:
        """The Kubernetes object (secrets revealed), for schema checks and rendering."""
        return reveal(self.inputs)

    @property
    def kind(self) -> str:
        return self.inputs.get("kind", "")

    @property
    def metadata(self) -> dict:
        return reveal(self.inputs.get("metadata") or {})


def _mock_pem(label: str, what: str) -> str:
    """A PEM block whose body says what it stands for: shaped like the real output (so wiring,
    base64 and templates see realistic text), but no parser takes it for a certificate or key."""
    body = base64.b64encode(f"mlplatform mock {label.lower()} of {what}, not a real one".encode()).decode()
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


MOCK_NOT_AFTER = "2099-01-01T00:00:00+00:00"
"""The end of validity every mocked certificate reports."""


def _mock_certificate(args: pulumi.runtime.MockResourceArgs) -> dict:
    """What library/certificates.py's dynamic providers compute, made up deterministically: the real
    generation is tested by calling the providers directly (tests/library/test_certificates.py)."""
    cert = _mock_pem("CERTIFICATE", args.name)
    outs = {"cert_pem": cert, "key_pem": _mock_pem("PRIVATE KEY", args.name), "not_after": MOCK_NOT_AFTER}
    if args.typ.endswith(":CertificateAuthority"):
        outs.update(previous_cert_pem="", bundle_pem=cert)
    return outs


# Outputs the cloud would compute, made up in the mock engine's usual way (names, ARNs, hosts),
# so that programs can wire them; tests assert on how they are wired, never on these values.
_COMPUTED = {
    "aws:iam/role:Role": lambda a: {"arn": f"arn:aws:iam::000000000000:role/{a.name}"},
    "aws:rds/instance:Instance": lambda a: {"address": f"{a.inputs.get('identifier')}.mock.rds.amazonaws.com"},
    "aws:s3/bucket:Bucket": lambda a: {"arn": f"arn:aws:s3:::{a.inputs.get('bucket')}"},
    "azure-native:managedidentity:UserAssignedIdentity": lambda a: {
        "name": a.inputs.get("resourceName"),
        "clientId": f"client-{a.name}",
        "principalId": f"principal-{a.name}",
    },
    "azure-native:storage:StorageAccount": lambda a: {"name": a.inputs.get("accountName")},
    "azure-native:dbformysql:Server": lambda a: {
        "fullyQualifiedDomainName": f"{a.inputs.get('serverName')}.mysql.database.azure.com"
    },
    "pulumi-python:dynamic/mlplatform:CertificateAuthority": _mock_certificate,
    "pulumi-python:dynamic/mlplatform:ServingCertificate": _mock_certificate,
}


MOCK_API_SERVER = "172.18.0.2"
"""What a read of the API server's EndpointSlice (default/kubernetes) returns under the mocks: the
address kind gives its control-plane node. A real `pulumi up` reads the cluster's own."""


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "kubernetes:discovery.k8s.io/v1:EndpointSlice" and args.resource_id == "default/kubernetes":
            return args.resource_id, {"addressType": "IPv4", "endpoints": [{"addresses": [MOCK_API_SERVER]}]}
        state = dict(args.inputs)
        state.update(_COMPUTED.get(args.typ, lambda a: {})(args))
        if args.typ == "random:index/randomPassword:RandomPassword":
            alphabet = string.ascii_uppercase + string.digits
            if args.inputs.get("lower", True):
                alphabet += string.ascii_lowercase
            state["result"] = "".join(secrets.choice(alphabet) for _ in range(int(args.inputs["length"])))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "azure-native:storage:listStorageAccountKeys":
            return {"keys": [{"keyName": "key1", "permissions": "FULL", "value": secrets.token_urlsafe(48)}]}
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": "00000000-0000-0000-0000-000000000000",
                "tenantId": "mock-tenant",
                "clientId": "mock-client",
                "objectId": "mock-object",
            }
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    inputs=pulumi_mocks.rpc.deserialize_properties(request.object, keep_unknowns=True),
                    retain_on_delete=bool(request.retainOnDelete),
                    protect=bool(request.protect),
                    dependencies=list(request.dependencies),
                    ignore_changes=list(request.ignoreChanges),
                )
            )
        return response


class _CountingMonitor(pulumi_mocks.MockMonitor):
    """Keeps nothing but a count: in a real run the engine, not the program's process, holds the
    state, so measurements of the program should not include the mock engine's bookkeeping."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.count = 0

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.resources.pop(response.urn, None)
        self.count += request.type != "pulumi:pulumi:Stack"
        return response


def run(
    program: Callable[[], Any],
    config: Mapping[str, str] | None = None,
    stack: str = "test",
    project: str = "mlplatform",
    preview: bool = False,
    secret_keys: frozenset[str] = frozenset(),
    record: bool = True,
) -> list[Registration] | int:
    """Run `program` under mocks with `config` (full keys; `secret_keys` of them encrypted in the
    stack file) and return what it registered, in order; with `record=False`, only how many."""
    pulumi_settings.ROOT.set(None)
    monitor = _RecordingMonitor(_Mocks()) if record else _CountingMonitor(_Mocks())
    pulumi.runtime.set_mocks(_Mocks(), project=project, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys))
    pulumi.runtime.test(program)()
    return monitor.registrations if record else monitor.count


def run_platform(
    config: Mapping[str, str] | None = None,
    stack: str = "test",
    secret_keys: frozenset[str] = frozenset(),
    record: bool = True,
) -> list[Registration]:
    """Validate `config` and the profiles it names, then register the platform; return registrations
    (with `record=False`, their number)."""
    from components.platform import build, validate

    settings, teams = validate(dict(config or {}), stack, secret_keys)
    return run(lambda: build(settings, teams) and None, config, stack, secret_keys=secret_keys, record=record)


def kubernetes_objects(registrations: list[Registration]) -> Iterator[Registration]:
    """The Kubernetes objects among `registrations` (not components, passwords or providers)."""
    return (r for r in registrations if r.is_kubernetes and r.custom and "kind" in r.inputs)
