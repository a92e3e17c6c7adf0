"""The front door of a running local cloud: only its own user, only the loopback, only signed calls.

Each test replays an attack from issue 9 and shows it now fails, or shows that what the
workbook needs still works (the instance key, keys it issued, ``localcloud env``).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud import config, process
from localcloud.auth import credentials
from tests.localcloud.lambdas import ROLE_POLICY, deploy
from tests.support import REPO

NO_RETRIES = Config(retries={"max_attempts": 1})


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def error_of(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_unsigned_calls_get_each_services_error(localcloud):
    def unsigned(service):
        return boto3.client(service, endpoint_url=localcloud, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))

    assert error_of(lambda: unsigned("s3").list_buckets()) == ("AccessDenied", 403)
    assert error_of(lambda: unsigned("dynamodb").list_tables()) == ("MissingAuthenticationTokenException", 400)
    assert error_of(lambda: unsigned("lambda").list_functions()) == ("MissingAuthenticationTokenException", 403)
    assert error_of(lambda: unsigned("sts").get_caller_identity()) == ("MissingAuthenticationToken", 403)


@pytest.mark.parametrize("service,call,expected", [
    ("s3", lambda c: c.list_buckets(), ("InvalidAccessKeyId", 403)),
    ("dynamodb", lambda c: c.list_tables(), ("UnrecognizedClientException", 400)),
    ("lambda", lambda c: c.list_functions(), ("UnrecognizedClientException", 403)),
    ("stepfunctions", lambda c: c.list_state_machines(), ("UnrecognizedClientException", 400)),
    ("sts", lambda c: c.get_caller_identity(), ("InvalidClientTokenId", 403)),
    ("iam", lambda c: c.list_roles(), ("InvalidClientTokenId", 403)),
])
def test_a_key_the_instance_never_issued_is_refused(localcloud, service, call, expected):
    # "testing"/"testing": what every local cloud used to accept, and what other emulators still do.
    stranger = boto3.client(service, endpoint_url=localcloud, region_name="us-east-1", config=NO_RETRIES,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    assert error_of(lambda: call(stranger)) == expected


def test_the_right_key_with_a_wrong_secret_does_not_match(localcloud):
    key = os.environ["AWS_ACCESS_KEY_ID"]
    for service, call, code in [("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch"),
                                ("dynamodb", lambda c: c.list_tables(), "InvalidSignatureException"),
                                ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch")]:
        client = boto3.client(service, endpoint_url=localcloud, region_name="us-east-1", config=NO_RETRIES,
                              aws_access_key_id=key, aws_secret_access_key="not-the-secret")
        assert error_of(lambda c=client, f=call: f(c))[0] == code


def test_functions_call_the_local_cloud_with_credentials_it_issued_for_their_role(client):
    source = """
        import boto3
        def handler(event, context):
            return boto3.client("sts").get_caller_identity()["Arn"]
    """
    name = deploy(client("lambda"), client("iam"), source)
    result = client("lambda").invoke(FunctionName=name)
    arn = json.loads(result["Payload"].read())
    assert "FunctionError" not in result, arn
    assert arn.startswith("arn:aws:sts::123456789012:assumed-role/localcloud-test-lambda-role/"), arn


def test_a_foreign_host_is_refused_and_logged(localcloud):
    port = port_of(localcloud)
    for path in ("/_localcloud/health", "/", "/2015-03-31/functions"):
        answer = requests.get(localcloud + path, headers={"Host": f"rebound.example:{port}"}, timeout=10)
        assert answer.status_code == 403, path
        assert "serves only http://127.0.0.1" in answer.json()["message"]
    assert "refused a request for host 'rebound.example" in process.tail(port, 200)
    assert requests.get(localcloud + "/_localcloud/health", timeout=10).status_code == 200


def test_no_cors_headers_for_a_foreign_origin(localcloud, client):
    port = port_of(localcloud)
    s3 = client("s3")
    s3.create_bucket(Bucket="cors-none")
    origin = {"Origin": "https://attacker.example"}
    preflight = requests.options(f"{localcloud}/2015-03-31/functions/x/invocations", timeout=10,
                                 headers={**origin, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    listed = requests.get(f"{localcloud}/cors-none", headers=origin, timeout=10)
    assert "Access-Control-Allow-Origin" not in listed.headers
    # A bucket's own CORS configuration still answers as S3 does.
    s3.create_bucket(Bucket="cors-some")
    s3.put_bucket_cors(Bucket="cors-some", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [f"http://127.0.0.1:{port}"], "AllowedMethods": ["GET"]}]})
    allowed = requests.options(f"{localcloud}/cors-some/k", timeout=10, headers={
        "Origin": f"http://127.0.0.1:{port}", "Access-Control-Request-Method": "GET"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == f"http://127.0.0.1:{port}"


def test_admin_endpoints_refuse_browsers_and_strangers(localcloud):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = "service=lambda&operation=Invoke&error=ServiceException"
    assert requests.post(localcloud + "/_localcloud/faults", data=body, headers=form, timeout=10).status_code == 415
    assert requests.post(localcloud + "/_localcloud/faults", data=body, timeout=10,
                         headers={"Content-Type": "text/plain", "Origin": "https://attacker.example"}
                         ).status_code == 403
    unsigned = requests.post(localcloud + "/_localcloud/lifecycle?days=30", timeout=10)
    assert unsigned.status_code == 403 and "sign the request" in unsigned.json()["message"]
    assert requests.get(localcloud + "/_localcloud/status", timeout=10).status_code == 403
    assert process.status(port_of(localcloud))["owner"]["uid"] == os.getuid()


def test_health_names_the_owner_and_proves_the_key(localcloud):
    port = port_of(localcloud)
    doc = process.health(port, challenge="abc")
    assert doc["owner"] == process.owner()
    key = credentials.load(config.instance_dir(port))
    assert doc["proof"] == process.health_proof(key.secret_access_key, "abc")
    assert process.find(port) is not None


def test_an_instance_that_cannot_prove_our_key_is_not_ours(localcloud, tmp_path, monkeypatch):
    port = port_of(localcloud)
    monkeypatch.setenv("LOCALCLOUD_HOME", str(tmp_path))
    credentials.write(config.instance_dir(port), credentials.generate())  # someone else's key
    assert process.find(port) is None
    with pytest.raises(process.LocalCloudError, match="another local cloud of yours"):
        process.start(port)


def test_state_folders_and_the_key_are_private(localcloud):
    folder = config.instance_dir(port_of(localcloud))
    assert folder.stat().st_mode & 0o777 == 0o700
    assert config.state_root().stat().st_mode & 0o777 == 0o700
    assert credentials.path(folder).stat().st_mode & 0o777 == 0o600


def test_localcloud_env_lines_make_any_sdk_work(localcloud):
    script = (f'eval "$(python -m localcloud env --port {port_of(localcloud)})" && '
              'python -c "import boto3; print(boto3.client(\'sts\').get_caller_identity()[\'Account\'])"')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == config.ACCOUNT_ID


def _second_user() -> str | None:
    if os.getuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        return None
    name = "lcsecond"
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/bash", name], check=True)
    return name


def _python_for(user: str) -> str | None:
    """An interpreter of this Python version that ``user`` may execute (this one may sit in /root)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, shutil.which(version, path="/usr/local/bin:/usr/bin")):
        if candidate and subprocess.run(["runuser", "-u", user, "--", candidate, "-c", "pass"],
                                        capture_output=True, check=False).returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(_second_user() is None, reason="needs root with useradd and runuser to act as a second user")
def test_a_second_os_user_gets_their_own_local_cloud_and_runs_as_themselves(localcloud, tmp_path):
    """Issue 9's first attack: the second user's notebook reused the first one's local cloud."""
    user = _second_user()
    uid = pwd.getpwnam(user).pw_uid
    home = Path(tempfile.mkdtemp(prefix="lcsecond-"))
    os.chown(home, uid, -1)
    python = _python_for(user)
    if python is None:
        pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} that {user} may run")
    # This interpreter's packages, readable by anyone (a JupyterHub's shared environment is too).
    path = os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env = {"HOME": str(home), "PATH": f"{Path(python).parent}:/usr/bin:/bin", "PYTHONPATH": path,
           "LOCALCLOUD_LABELS": "canned"}

    def as_second(*args: str, extra: dict | None = None) -> subprocess.CompletedProcess:
        env_args = [f"{k}={v}" for k, v in {**env, **(extra or {})}.items()]
        return subprocess.run(["runuser", "-u", user, "--", "env", "-i", *env_args, *args], cwd=REPO,
                              capture_output=True, text=True, timeout=180, check=False)

    theirs = port_of(localcloud) + 1
    try:
        reused = as_second(python, "-m", "localcloud", "start",
                           extra={"LOCALCLOUD_PORT": str(port_of(localcloud))})
        assert reused.returncode == 1 and "held by the local cloud of user root" in reused.stderr, reused
        status = as_second(python, "-m", "localcloud", "status", "--port", str(port_of(localcloud)))
        assert status.returncode == 3 and "held by the local cloud of user root" in status.stdout, status
        started = as_second(python, "-m", "localcloud", "start", "--port", str(theirs))
        assert started.returncode == 0, started.stderr
        state = home / ".local" / "state" / "workbook-localcloud"
        assert state.stat().st_uid == uid and (state / str(theirs)).stat().st_mode & 0o777 == 0o700
        probe = (
            "import boto3, io, json, zipfile\n"
            "buf = io.BytesIO(); z = zipfile.ZipFile(buf, 'w')\n"
            "z.writestr('app.py', 'import os\\ndef handler(e, c):\\n    return os.getuid()\\n'); z.close()\n"
            f"role = boto3.client('iam').create_role(RoleName='r', AssumeRolePolicyDocument={ROLE_POLICY!r})\n"
            "lam = boto3.client('lambda')\n"
            "lam.create_function(FunctionName='whoami', Runtime='python3.12', Handler='app.handler',\n"
            "    Role=role['Role']['Arn'], Code={'ZipFile': buf.getvalue()})\n"
            "print(json.loads(lam.invoke(FunctionName='whoami')['Payload'].read()))\n"
        )
        ran = as_second("bash", "-c", f'eval "$({python} -m localcloud env --port {theirs})" && '
                                      f'{python} -c "$PROBE"', extra={"PROBE": probe})
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == str(uid)
    finally:
        as_second(python, "-m", "localcloud", "stop", "--port", str(theirs))
        shutil.rmtree(home, ignore_errors=True)
    assert process.find(port_of(localcloud)) is not None


def test_browser_post_uploads_need_a_policy_signed_by_a_key_of_this_instance(localcloud, client):
    s3 = client("s3")
    s3.create_bucket(Bucket="post-signed")
    photo = {"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")}
    presigned = s3.generate_presigned_post("post-signed", "uploads/a.png")
    assert requests.post(presigned["url"], data=presigned["fields"], files=photo, timeout=10).status_code == 204
    anonymous = requests.post(presigned["url"], data={"key": "uploads/b.png"}, files=photo, timeout=10)
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text
    forged = dict(presigned["fields"])
    signature_field = "signature" if "signature" in forged else "x-amz-signature"
    forged[signature_field] = forged[signature_field][::-1]
    refused = requests.post(presigned["url"], data={**forged, "key": "uploads/a.png"}, files=photo, timeout=10)
    assert refused.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in refused.text
    stranger = boto3.client("s3", endpoint_url=localcloud, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    theirs = stranger.generate_presigned_post("post-signed", "uploads/c.png")
    refused = requests.post(theirs["url"], data=theirs["fields"], files=photo, timeout=10)
    assert refused.status_code == 403 and "<Code>InvalidAccessKeyId</Code>" in refused.text
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="post-signed").get("Contents", [])]
    assert keys == ["uploads/a.png"]


def test_a_body_too_large_to_hash_is_refused_before_it_is_read(localcloud):
    """A signed call declaring 100 MB is answered at once, with nothing read: no memory spent on it."""
    import socket
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    key = os.environ["AWS_ACCESS_KEY_ID"]
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port_of(localcloud)}\r\n"
            "X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"X-Amz-Date: {now:%Y%m%dT%H%M%SZ}\r\nContent-Length: 100000000\r\n"
            f"Authorization: AWS4-HMAC-SHA256 Credential={key}/{now:%Y%m%d}/us-east-1/dynamodb/aws4_request, "
            f"SignedHeaders=host;x-amz-date;x-amz-target, Signature={'0' * 64}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port_of(localcloud)), timeout=10) as sock:
        sock.sendall(head.encode())
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection: the body was never read
            answer += chunk
        answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "RequestEntityTooLarge" in answer and "over 70167211 bytes" in answer
