"""The team boundary of the object store, against the real SeaweedFS server.

`weed` is built at exactly the version the image pin names (tools/cluster/build.sh, versions.env)
and run as a local process with the configuration the program renders: the StatefulSet's
arguments and `-s3.config` file, the bucket its postStart hook creates, and each team's identity
written into the filer by the team's Job command. Then team `nlp`, holding only its own keys,
tries every way out of its prefix through a real S3 client (boto3) and raw signed requests.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from components.platform import PLATFORM_NAMESPACE as NS

boto3 = pytest.importorskip("boto3")
from botocore.auth import S3SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MLPLATFORM_CACHE", Path.home() / ".cache" / "mlplatform"))
WEED = CACHE / "bin" / "weed"
BUCKET = "mlpipeline"
ME, OTHER = "nlp", "vision"
MINE, THEIRS = f"private-artifacts/{ME}/", f"private-artifacts/{OTHER}/"
SECRET_DATA = b"vision's model weights"


def versions() -> dict[str, str]:
    pairs = (line.split("#")[0].strip().split("=", 1) for line in (ROOT / "tools/cluster/versions.env").open())
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def test_the_image_runs_the_version_this_test_builds():
    images = yaml.safe_load((ROOT / "manifests/images.yaml").read_text())
    assert images["seaweedfs"].rsplit(":", 1)[1] == versions()["SEAWEEDFS_VERSION"]


def free_port_pair() -> int:
    """A port p with p and p + 10000 free (SeaweedFS serves gRPC on port + 10000)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def weed_binary() -> Path:
    if not WEED.exists():
        unavailable = CACHE / "unavailable.txt"
        if unavailable.exists() and "seaweedfs" in unavailable.read_text():
            print(f"\n!!! SEAWEEDFS TEST SKIPPED: {unavailable.read_text().strip()}", flush=True)
            pytest.skip(f"the registries could not supply seaweedfs: {unavailable.read_text().strip()}")
        pytest.fail(f"{WEED} is not built: run tools/cluster/build.sh seaweedfs (make test does)")
    return WEED


class Server:
    """`weed server` with the rendered arguments, on loopback ports, data in a scratch folder."""

    def __init__(self, platform, tmp: Path):
        self.tmp = tmp
        sts = platform.get("StatefulSet", "seaweedfs", NS).object["spec"]["template"]["spec"]
        (container,) = [c for c in sts["containers"] if c["name"] == "seaweedfs"]
        config = platform.get("Secret", "seaweedfs-s3-config", NS).object["stringData"]["s3.json"]
        (tmp / "s3.json").write_text(config)
        self.poststart = container["lifecycle"]["postStart"]["exec"]["command"][-1]
        self.ports = {name: free_port_pair() for name in ("master", "volume", "filer", "s3")}
        args = []
        for arg in container["args"]:
            if arg.startswith("-dir="):
                arg = f"-dir={tmp / 'data'}"
            elif arg.startswith("-s3.config="):
                arg = f"-s3.config={tmp / 's3.json'}"
            elif arg.startswith("-s3.port="):
                continue
            args.append(arg)
        (tmp / "data").mkdir()
        self.args = [
            *args,
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}.port={port}" for name, port in self.ports.items()),
        ]
        self.log = (tmp / "weed.log").open("w")
        self.process = subprocess.Popen(
            [str(weed_binary()), *self.args], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def s3(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def wait(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"weed exited: {(self.tmp / 'weed.log').read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{self.s3}/status", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
        raise AssertionError(f"S3 did not answer: {(self.tmp / 'weed.log').read_text()[-3000:]}")

    def create_bucket(self) -> None:
        """The postStart hook's own command, against this server's master."""
        (command,) = re.findall(r"^\s*echo (\"s3\.bucket\.create [^\"]+\").*$", self.poststart, re.M)
        script = shlex.split(command)[0]
        shell = [str(WEED), "shell", f"-master=127.0.0.1:{self.ports['master']}"]
        done = subprocess.run(shell, input=script + "\n", text=True, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def run_identity_job(self, platform, team: str) -> None:
        """The team's Job command, with the Secret's file and this server's filer address."""
        job = platform.get("Job", f"s3-identity-{team}", NS).object["spec"]["template"]["spec"]
        (container,) = job["containers"]
        content = platform.get("Secret", f"s3-identity-{team}", NS).object["stringData"]["identity.json"]
        local = self.tmp / f"identity-{team}.json"
        local.write_text(content)
        mount = job["containers"][0]["volumeMounts"][0]["mountPath"]
        command = [
            a.replace(f"=@{mount}/identity.json", f"=@{local}")
            if "=@" in a
            else re.sub(r"^http://[^/]+", f"http://127.0.0.1:{self.ports['filer']}", a)
            for a in container["command"]
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()


def keys(platform, team: str) -> tuple[str, str]:
    values = platform.get("Secret", "object-store-credentials", team).object["stringData"]
    return values["accesskey"], values["secretkey"]


def client(server: Server, creds: tuple[str, str]):
    return boto3.client(
        "s3",
        endpoint_url=server.s3,
        aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1],
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            # a pooled connection the server closed is retried; a refusal (403) never is
            retries={"max_attempts": 3, "mode": "standard"},
            signature_version="s3v4",
        ),
    )


@pytest.fixture(scope="module")
def store(platform, tmp_path_factory):
    """The running server with every team's identity written, and `vision` holding data."""
    server = Server(platform, tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.wait()
        server.create_bucket()
        for team in (ME, OTHER, "forecasting"):
            server.run_identity_job(platform, team)
        deadline = time.monotonic() + 60
        theirs = client(server, keys(platform, OTHER))
        while True:  # the gateway reloads identities asynchronously after the filer write
            try:
                theirs.put_object(Bucket=BUCKET, Key=f"{THEIRS}model.bin", Body=SECRET_DATA)
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        theirs.put_object(Bucket=BUCKET, Key=f"{THEIRS}run/metrics.json", Body=b"{}")
        client(server, keys(platform, ME)).list_objects_v2(Bucket=BUCKET, Prefix=MINE)  # mine works too
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mine(store, platform):
    return client(store, keys(platform, ME))


@pytest.fixture(scope="module")
def wire(store, platform):
    """Raw signed requests with my team's keys."""
    return lambda method, path, body=b"", headers=None: raw(store, keys(platform, ME), method, path, body, headers)


@pytest.fixture(scope="module")
def theirs(store, platform):
    return client(store, keys(platform, OTHER))


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]["Code"]


def intact(theirs) -> None:
    """The other team's objects are exactly as they were, and nothing foreign was added."""
    body = theirs.get_object(Bucket=BUCKET, Key=f"{THEIRS}model.bin")["Body"].read()
    assert body == SECRET_DATA
    listed = sorted(o["Key"] for o in theirs.list_objects_v2(Bucket=BUCKET, Prefix=THEIRS).get("Contents", []))
    assert listed == [f"{THEIRS}model.bin", f"{THEIRS}run/metrics.json"]


RESET = 0
"""Status of a request the server answered by closing the connection (it refused before reading
the body): nothing was accepted."""


def raw(store: Server, creds, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """A SigV4-signed request whose path goes on the wire exactly as given (no client normalisation).
    Returns (status, body), or (RESET, b"") when the server closed the connection instead."""
    url = f"{store.s3}{path}"
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(*creds), "s3", "us-east-1").add_auth(request)
    connection = http.client.HTTPConnection("127.0.0.1", store.ports["s3"], timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    except (ConnectionResetError, BrokenPipeError):
        return RESET, b""
    finally:
        connection.close()


# ------------------------------------------------------------------------ own prefix: everything works


def test_own_prefix_get_list_put_delete(mine):
    mine.put_object(Bucket=BUCKET, Key=f"{MINE}a.txt", Body=b"mine")
    assert mine.get_object(Bucket=BUCKET, Key=f"{MINE}a.txt")["Body"].read() == b"mine"
    listed = [o["Key"] for o in mine.list_objects_v2(Bucket=BUCKET, Prefix=MINE)["Contents"]]
    assert f"{MINE}a.txt" in listed
    mine.copy_object(Bucket=BUCKET, Key=f"{MINE}b.txt", CopySource={"Bucket": BUCKET, "Key": f"{MINE}a.txt"})
    assert mine.get_object(Bucket=BUCKET, Key=f"{MINE}b.txt")["Body"].read() == b"mine"
    result = mine.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": f"{MINE}b.txt"}]})
    assert [d["Key"] for d in result.get("Deleted", [])] == [f"{MINE}b.txt"]
    mine.delete_object(Bucket=BUCKET, Key=f"{MINE}a.txt")
    assert refused(mine.get_object, Bucket=BUCKET, Key=f"{MINE}a.txt") in ("NoSuchKey", "404")


def test_own_prefix_multipart_and_presigned(mine):
    key = f"{MINE}big.bin"
    upload = mine.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    part = mine.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    mine.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    )
    url = mine.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"x" * 1024


# ------------------------------------------------------------------------ another team's prefix: nothing


def test_other_prefix_get_head_list_refused(mine, theirs):
    assert refused(mine.get_object, Bucket=BUCKET, Key=f"{THEIRS}model.bin") == "AccessDenied"
    assert refused(mine.head_object, Bucket=BUCKET, Key=f"{THEIRS}model.bin") in ("403", "AccessDenied")
    for prefix in (THEIRS, "private-artifacts/", ""):
        assert refused(mine.list_objects_v2, Bucket=BUCKET, Prefix=prefix) == "AccessDenied", prefix
    assert refused(mine.list_objects, Bucket=BUCKET, Prefix=THEIRS) == "AccessDenied"
    assert refused(mine.list_object_versions, Bucket=BUCKET, Prefix=THEIRS) == "AccessDenied"
    intact(theirs)


def test_other_prefix_put_delete_refused(mine, theirs):
    assert refused(mine.put_object, Bucket=BUCKET, Key=f"{THEIRS}model.bin", Body=b"poison") == "AccessDenied"
    assert refused(mine.put_object, Bucket=BUCKET, Key=f"{THEIRS}new.bin", Body=b"poison") == "AccessDenied"
    assert refused(mine.delete_object, Bucket=BUCKET, Key=f"{THEIRS}model.bin") == "AccessDenied"
    intact(theirs)


def test_other_prefix_multipart_refused(mine, theirs):
    key = f"{THEIRS}model.bin"
    assert refused(mine.create_multipart_upload, Bucket=BUCKET, Key=key) == "AccessDenied"
    upload = theirs.create_multipart_upload(Bucket=BUCKET, Key=f"{THEIRS}upload.bin")["UploadId"]
    try:
        part = {"Key": f"{THEIRS}upload.bin", "UploadId": upload, "PartNumber": 1, "Body": b"p"}
        assert refused(mine.upload_part, Bucket=BUCKET, **part) == "AccessDenied"
        assert refused(mine.list_parts, Bucket=BUCKET, Key=f"{THEIRS}upload.bin", UploadId=upload) == "AccessDenied"
        assert refused(mine.list_multipart_uploads, Bucket=BUCKET, Prefix=THEIRS) == "AccessDenied"
        assert (
            refused(mine.abort_multipart_upload, Bucket=BUCKET, Key=f"{THEIRS}upload.bin", UploadId=upload)
            == "AccessDenied"
        )
    finally:
        theirs.abort_multipart_upload(Bucket=BUCKET, Key=f"{THEIRS}upload.bin", UploadId=upload)
    intact(theirs)


def test_other_prefix_presigned_urls_refused(mine, theirs):
    get = mine.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": f"{THEIRS}model.bin"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(get, timeout=10)
    assert raised.value.code == 403
    put = mine.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": f"{THEIRS}model.bin"})
    with pytest.raises((urllib.error.HTTPError, ConnectionResetError)) as raised:
        urllib.request.urlopen(urllib.request.Request(put, data=b"poison", method="PUT"), timeout=10)
    # refused with 403, or by closing the connection before reading the body (see RESET)
    assert isinstance(raised.value, ConnectionResetError) or raised.value.code == 403
    intact(theirs)


def test_copy_across_prefixes_refused(mine, theirs, wire):
    # from theirs into mine (the destination is allowed: the source must still be checked)
    source = {"Bucket": BUCKET, "Key": f"{THEIRS}model.bin"}
    assert refused(mine.copy_object, Bucket=BUCKET, Key=f"{MINE}stolen.bin", CopySource=source) == "AccessDenied"
    assert refused(mine.get_object, Bucket=BUCKET, Key=f"{MINE}stolen.bin") in ("NoSuchKey", "404")
    upload = mine.create_multipart_upload(Bucket=BUCKET, Key=f"{MINE}stolen-part.bin")["UploadId"]
    try:
        code = refused(
            mine.upload_part_copy,
            Bucket=BUCKET,
            Key=f"{MINE}stolen-part.bin",
            UploadId=upload,
            PartNumber=1,
            CopySource=source,
        )
        assert code == "AccessDenied"
    finally:
        mine.abort_multipart_upload(Bucket=BUCKET, Key=f"{MINE}stolen-part.bin", UploadId=upload)
    # from mine over theirs
    mine.put_object(Bucket=BUCKET, Key=f"{MINE}poison.bin", Body=b"poison")
    own = {"Bucket": BUCKET, "Key": f"{MINE}poison.bin"}
    assert refused(mine.copy_object, Bucket=BUCKET, Key=f"{THEIRS}model.bin", CopySource=own) == "AccessDenied"
    # a source that climbs out of my prefix
    climbing = f"/{BUCKET}/{MINE}../{OTHER}/model.bin"
    status, body = wire("PUT", f"/{BUCKET}/{MINE}climbed.bin", headers={"x-amz-copy-source": climbing})
    assert (status == RESET or status >= 400) and SECRET_DATA not in body, (status, body)
    assert refused(mine.get_object, Bucket=BUCKET, Key=f"{MINE}climbed.bin") in ("NoSuchKey", "404")
    intact(theirs)


@pytest.mark.parametrize(
    "path",
    [
        f"/{BUCKET}/{MINE}../{OTHER}/model.bin",
        f"/{BUCKET}/{MINE}%2e%2e/{OTHER}/model.bin",
        f"/{BUCKET}/{MINE}%2E%2E/{OTHER}/model.bin",
        f"/{BUCKET}/{MINE}..%2f{OTHER}/model.bin",
        f"/{BUCKET}/{MINE}sub/../../{OTHER}/model.bin",
    ],
)
def test_dot_dot_keys_do_not_leave_the_prefix(theirs, wire, path):
    status, body = wire("GET", path)
    assert SECRET_DATA not in body and status != 200, (status, body[:300])
    status, body = wire("PUT", path, b"poison")
    assert (
        status == RESET
        or status >= 400
        or b"poison" != theirs.get_object(Bucket=BUCKET, Key=f"{THEIRS}model.bin")["Body"].read()
    )
    wire("DELETE", path)
    intact(theirs)


def test_delete_objects_checks_every_key_not_the_prefix_query(mine, theirs, wire):
    mine.put_object(Bucket=BUCKET, Key=f"{MINE}keep-or-delete.txt", Body=b"mine")
    document = (
        "<Delete><Quiet>false</Quiet>"
        f"<Object><Key>{THEIRS}model.bin</Key></Object>"
        f"<Object><Key>{THEIRS}run/metrics.json</Key></Object>"
        f"<Object><Key>{MINE}../{OTHER}/model.bin</Key></Object>"
        "</Delete>"
    ).encode()
    md5 = base64.b64encode(hashlib.md5(document).digest()).decode()
    for query in (f"?delete&prefix={MINE}", "?delete"):
        status, body = wire(
            "POST", f"/{BUCKET}{query}", document, {"Content-MD5": md5, "Content-Type": "application/xml"}
        )
        assert b"<Deleted>" not in body, (query, status, body)
        intact(theirs)
    # boto3's own DeleteObjects with a foreign key among own keys deletes only the own one
    result = mine.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": f"{MINE}keep-or-delete.txt"}, {"Key": f"{THEIRS}model.bin"}]}
    )
    assert [d["Key"] for d in result.get("Deleted", [])] == [f"{MINE}keep-or-delete.txt"]
    assert [e["Key"] for e in result.get("Errors", [])] == [f"{THEIRS}model.bin"]
    intact(theirs)


def test_bucket_level_calls_refused(store, mine, theirs):
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
            ],
        }
    )
    calls = [
        (mine.put_bucket_policy, {"Policy": policy}),
        (mine.delete_bucket_policy, {}),
        (mine.get_bucket_policy, {}),
        (mine.put_bucket_versioning, {"VersioningConfiguration": {"Status": "Suspended"}}),
        (
            mine.put_bucket_lifecycle_configuration,
            {
                "LifecycleConfiguration": {
                    "Rules": [{"ID": "wipe", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]
                }
            },
        ),
        (mine.delete_bucket_lifecycle, {}),
        (
            mine.put_bucket_cors,
            {"CORSConfiguration": {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}},
        ),
        (mine.delete_bucket_cors, {}),
        (mine.put_bucket_acl, {"ACL": "public-read"}),
        (mine.put_bucket_tagging, {"Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
        (mine.delete_bucket, {}),
    ]
    for call, kwargs in calls:
        code = refused(call, Bucket=BUCKET, **kwargs)
        assert code == "AccessDenied", (call.__name__, code)
    assert refused(mine.create_bucket, Bucket="stolen") == "AccessDenied"
    # nothing opened the bucket to anonymous readers
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{store.s3}/{BUCKET}/{THEIRS}model.bin", timeout=10)
    assert raised.value.code == 403
    intact(theirs)
