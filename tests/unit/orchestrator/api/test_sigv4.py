"""SigV4 on the server: requests signed by botocore itself (the aws CLI's and boto3's signer)
verify, and every way of getting it wrong is refused with AWS's code and status."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from starlette.testclient import TestClient

from orchestrator.api import sigv4
from orchestrator.api.credentials import Credentials
from orchestrator.api.sigv4 import JSON, Scope, SignedRequest, scope_of, verify
from orchestrator.cli.demo import write_aws_profile
from orchestrator.client import AccessKey, Client, ServiceError
from orchestrator.errors import AwsError
from tests.support.aws_auth import CREDENTIALS, KEY_ID, SECRET, SigV4
from tests.unit.orchestrator.cli.conftest import Server, server  # noqa: F401 - the fixture

ENDPOINT = "http://127.0.0.1:8500"
TODAY = time.strftime("%Y%m%d", time.gmtime())
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)


def wire(request: AWSRequest) -> SignedRequest:
    """What the server receives for a botocore request: its URL's raw path and query, its
    headers plus the Host the HTTP client adds, its body."""
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = {"Host": url.netloc, **dict(prepared.headers.items())}
    body = prepared.body or b""
    return SignedRequest(
        method=prepared.method,
        path=url.path,
        query=url.query,
        headers=headers,
        body=body.encode() if isinstance(body, str) else bytes(body),
    )


def signed(
    request: AWSRequest,
    service: str,
    region: str = "us-east-1",
    key_id: str = KEY_ID,
    secret: str = SECRET,
) -> SignedRequest:
    SigV4Auth(BotocoreCredentials(key_id, secret), service, region).add_auth(request)
    return wire(request)


def query_post(**params: str) -> AWSRequest:
    """A Query-protocol call as botocore sends one: a form-encoded POST to the endpoint root."""
    return AWSRequest(
        method="POST",
        url=f"{ENDPOINT}/",
        data={"Action": "DescribeAutoScalingGroups", "Version": "2011-01-01", **params},
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )


def json_post(body: bytes = b"{}") -> AWSRequest:
    """A JSON 1.1 call: the operation in X-Amz-Target, the parameters in the body."""
    return AWSRequest(
        method="POST",
        url=f"{ENDPOINT}/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
        },
    )


def refusal(request: SignedRequest, *, at: float | None = None, **options: Any) -> AwsError:
    now = time.time() if at is None else at
    with pytest.raises(AwsError) as refused:
        verify(request, CREDENTIALS, now, **options)
    return refused.value


def test_a_query_form_post_verifies_and_gives_its_scope():
    request = signed(query_post(**{"AutoScalingGroupNames.member.1": "a b+c/é~*"}), "autoscaling")
    assert verify(request, CREDENTIALS, time.time()) == Scope(
        KEY_ID, TODAY, "us-east-1", "autoscaling"
    )
    assert scope_of(request) == Scope(KEY_ID, TODAY, "us-east-1", "autoscaling")


def test_a_json_post_verifies_in_any_region_with_the_scope_it_was_signed_for():
    request = signed(json_post(b'{"maxResults": 10}'), "ecs", region="eu-west-3")
    scope = verify(request, CREDENTIALS, time.time(), dialect=JSON)
    assert (scope.region, scope.service) == ("eu-west-3", "ecs")


def test_a_get_with_odd_query_characters_and_an_odd_path_verifies():
    request = AWSRequest(
        method="GET",
        url=f"{ENDPOINT}/a%20path/%C3%BCn%C3%AFcode/./skipped/..//b%2Bc/",
        params={"b": "x y", "a": "~!*'()+&=,;:@$", "empty": "", "ü": "ö/é", "A": "1"},
    )
    assert verify(signed(request, "sqs"), CREDENTIALS, time.time()).service == "sqs"


def test_a_date_header_in_place_of_x_amz_date_verifies():
    request = json_post()
    request.headers["Date"] = "Thu, 01 Jan 1970 00:00:00 GMT"  # botocore rewrites it to now
    assert "X-Amz-Date" not in signed(request, "ecs").headers
    assert verify(wire(request), CREDENTIALS, time.time()).access_key_id == KEY_ID


def test_unsigned_payload_leaves_the_body_out_of_the_signature():
    request = json_post(b'{"maxResults": 10}')
    request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    sent = signed(request, "ecs")
    changed = SignedRequest(sent.method, sent.path, sent.query, sent.headers, b"{}")
    assert verify(changed, CREDENTIALS, time.time()).service == "ecs"


def test_a_content_sha256_that_is_not_the_body_s_is_refused():
    request = json_post(b'{"maxResults": 10}')
    request.headers["X-Amz-Content-SHA256"] = "0" * 64
    refused = refusal(signed(request, "ecs"))
    assert (refused.code, refused.status) == ("XAmzContentSHA256Mismatch", 400)


def test_a_presigned_url_verifies_until_it_expires():
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/", params={"Action": "ListQueues"})
    SigV4QueryAuth(BotocoreCredentials(KEY_ID, SECRET), "sqs", "us-east-1", 300).add_auth(request)
    presigned = wire(request)
    assert "Authorization" not in presigned.headers
    assert verify(presigned, CREDENTIALS, time.time()).service == "sqs"
    refused = refusal(presigned, at=time.time() + 301)
    assert (refused.code, refused.status) == ("SignatureDoesNotMatch", 403)
    assert refused.message.startswith("Signature expired: ")
    tampered = SignedRequest(
        "GET", "/", presigned.query.replace("ListQueues", "PurgeQueue"), presigned.headers, b""
    )
    assert refusal(tampered).code == "SignatureDoesNotMatch"


def test_a_wrong_secret_is_refused_with_aws_s_message():
    refused = refusal(signed(query_post(), "autoscaling", secret="not-the-secret"))
    assert (refused.code, refused.message, refused.status) == (
        "SignatureDoesNotMatch",
        MISMATCH,
        403,
    )
    assert refusal(signed(json_post(), "ecs", secret="no"), dialect=JSON).code == (
        "InvalidSignatureException"
    )


def test_an_unknown_key_is_refused_as_an_invalid_token():
    refused = refusal(signed(query_post(), "autoscaling", key_id="AKIANOBODYKNOWS00000"))
    assert (refused.code, refused.message, refused.status) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
        403,
    )
    unknown = signed(json_post(), "ecs", key_id="AKIANOBODYKNOWS00000")
    assert refusal(unknown, dialect=JSON).code == "UnrecognizedClientException"


def test_no_keys_configured_refuses_every_key():
    with pytest.raises(AwsError, match="InvalidClientTokenId"):
        verify(signed(query_post(), "autoscaling"), Credentials(), time.time())


def test_a_tampered_body_is_refused():
    sent = signed(query_post(DesiredCapacity="1"), "autoscaling")
    body = sent.body.replace(b"DesiredCapacity=1", b"DesiredCapacity=9")
    refused = refusal(SignedRequest(sent.method, sent.path, sent.query, sent.headers, body))
    assert (refused.code, refused.status) == ("SignatureDoesNotMatch", 403)


def test_a_tampered_signed_header_is_refused_and_an_unsigned_one_does_not_matter():
    sent = signed(json_post(), "ecs")
    target = {**sent.headers, "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DeleteCluster"}
    tampered = SignedRequest(sent.method, sent.path, sent.query, target, sent.body)
    assert refusal(tampered).code == "SignatureDoesNotMatch"
    extra = {**sent.headers, "User-Agent": "something else", "X-Forwarded-For": "10.0.0.1"}
    assert verify(
        SignedRequest(sent.method, sent.path, sent.query, extra, sent.body),
        CREDENTIALS,
        time.time(),
    )


def test_a_request_signed_more_than_15_minutes_ago_has_expired():
    refused = refusal(signed(query_post(), "autoscaling"), at=time.time() + 16 * 60)
    assert (refused.code, refused.status) == ("SignatureDoesNotMatch", 403)
    stamp = r"\d{8}T\d{6}Z"
    assert re.fullmatch(
        rf"Signature expired: {stamp} is now earlier than {stamp} \({stamp} - 15 min\.\)",
        refused.message,
    )
    later = refusal(signed(json_post(), "ecs"), at=time.time() + 16 * 60, dialect=JSON)
    assert later.code == "InvalidSignatureException"
    early = refusal(signed(query_post(), "autoscaling"), at=time.time() - 16 * 60)
    assert early.message.startswith("Signature not yet current: ")


def test_an_unsigned_request_is_missing_its_token():
    unsigned = wire(query_post())
    assert scope_of(unsigned) is None
    refused = refusal(unsigned)
    assert (refused.code, refused.message, refused.status) == (
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
        403,
    )
    assert refusal(unsigned, dialect=JSON).code == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    ("authorization", "says"),
    [
        ("Bearer abc", "Authorization header requires 'Credential' parameter."),
        (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{TODAY}/us-east-1/sqs/aws4_request", "'Signature'"),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{TODAY}/sqs/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
            "Credential must have exactly 5 slash-delimited elements",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{TODAY}/us-east-1/sqs/aws4_request, "
            f"SignedHeaders=x-amz-date, Signature={'0' * 64}",
            "'Host' or ':authority' must be a 'SignedHeader'",
        ),
    ],
)
def test_a_malformed_authorization_is_an_incomplete_signature(authorization: str, says: str):
    headers = {"Host": "127.0.0.1:8500", "X-Amz-Date": f"{TODAY}T000000Z"}
    request = SignedRequest("POST", "/", "", {**headers, "Authorization": authorization}, b"")
    with pytest.raises(AwsError) as refused:
        scope_of(request)
    assert (refused.value.code, refused.value.status) == ("IncompleteSignature", 400)
    assert says in refused.value.message
    assert refusal(request, dialect=JSON).code == "IncompleteSignatureException"


def test_the_canonical_forms_are_aws_s():
    assert sigv4.canonical_uri("/a b/./c/../d//é") == "/a%20b/d/%C3%A9"
    assert sigv4.canonical_uri("/a%20b/") == "/a%2520b/"
    assert sigv4.canonical_uri("") == "/"
    assert sigv4.canonical_query("b=x+y&a=%7e&c&a=1") == "a=1&a=~&b=x%20y&c="


def test_the_legacy_api_refuses_unsigned_and_badly_signed_requests(client: TestClient):
    unsigned = client.post("/api/autoscaling/DescribeAutoScalingGroups", json={}, auth=None)
    assert unsigned.status_code == 403
    assert unsigned.json()["Error"]["Code"] == "MissingAuthenticationToken"
    wrong = client.post(
        "/api/autoscaling/DescribeAutoScalingGroups",
        json={},
        auth=SigV4(AccessKey(KEY_ID, "not-the-secret")),
    )
    assert (wrong.status_code, wrong.json()["Error"]["Code"]) == (403, "SignatureDoesNotMatch")
    unknown_action = client.post(
        "/api/autoscaling/NoSuchAction", json={}, auth=SigV4(AccessKey("AKIAOTHER", "x"))
    )
    assert unknown_action.json()["Error"]["Code"] == "InvalidClientTokenId"
    signed_ok = client.post("/api/cloudwatch/DescribeAlarms", json={})
    assert signed_ok.status_code == 200, signed_ok.text


def test_the_client_signs_and_keeps_the_status_of_a_refusal(server: Server):  # noqa: F811
    good = Client(server.url, timeout=10, credentials=AccessKey(KEY_ID, SECRET))
    assert good.call("elbv2", "DescribeTargetGroups", {}) == {"TargetGroups": []}
    wrong = Client(server.url, timeout=10, credentials=AccessKey(KEY_ID, "not-the-secret"))
    with pytest.raises(ServiceError) as refused:
        wrong.call("elbv2", "DescribeTargetGroups", {})
    assert (refused.value.code, refused.value.status) == ("SignatureDoesNotMatch", 403)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every POST as ECS answers an empty ListClusters, and keeps what it received."""

    received: ClassVar[list[SignedRequest]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path, _, query = self.path.partition("?")
        headers: Mapping[str, str] = dict(self.headers.items())
        self.received.append(SignedRequest("POST", path, query, headers, body))
        answer = b'{"clusterArns": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[SignedRequest]]]:
    received: list[SignedRequest] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    listening = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=listening.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listening.server_address[1]}", received
    listening.shutdown()
    listening.server_close()


def test_the_aws_cli_with_the_barista_profile_reaches_the_endpoint_signed(
    tmp_path: Path, recorder: tuple[str, list[SignedRequest]]
):
    """The profile's ``endpoint_url`` is honoured (ECS here). Not for ``aws sqs`` (nor rds,
    emr, docdb, neptune, health): AWS CLI v1 pins their endpoint for every known region
    (``awscli.customizations.overridesslcommonname``), over any configured one, so those
    need ``--endpoint-url``."""
    url, received = recorder
    config = write_aws_profile(tmp_path / ".aws-barista" / "config", url, KEY_ID, SECRET)
    assert config.stat().st_mode & 0o777 == 0o600
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BARISTA_"))},
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PROFILE": "barista",
        "AWS_MAX_ATTEMPTS": "1",
        "HOME": str(tmp_path),
    }
    aws = Path(sys.executable).parent / "aws"
    done = subprocess.run(
        [str(aws), "ecs", "list-clusters", "--output", "json"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"clusterArns": []}
    (request,) = received
    assert request.headers["X-Amz-Target"].endswith(".ListClusters")
    assert json.loads(request.body or b"{}") == {}
    assert verify(request, CREDENTIALS, time.time(), dialect=JSON) == Scope(
        KEY_ID, TODAY, "us-east-1", "ecs"
    )
