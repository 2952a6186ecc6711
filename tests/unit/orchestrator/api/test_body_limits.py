"""Request bodies are capped everywhere the orchestrator listens: over
``MAX_REQUEST_BYTES`` (1 MiB) a request is refused unread, 413 ``RequestEntityTooLarge``, in the
protocol the caller speaks (the front door's, the JSON route's); a route of its own (the
dashboard's) gets the same refusal as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from orchestrator.api import MAX_REQUEST_BYTES, ApiContext, create_app
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_auth import SIGV4
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve

START = datetime(2026, 11, 28).timestamp()
OVERSIZED = "x" * (MAX_REQUEST_BYTES + 1)


async def _echo(request: Request) -> JSONResponse:
    """A route of the dashboard's kind: reads its whole body."""
    return JSONResponse({"length": len(await request.body())})


@pytest.fixture
def context(tmp_path: Path) -> ApiContext:
    return ApiContext(tmp_path / "barista.db", FakeRuntime(start=START), credentials=CREDENTIALS)


@pytest.fixture
def endpoint(context: ApiContext) -> Iterator[Endpoint]:
    with serve(context) as served:
        yield served


@pytest.fixture
def client(context: ApiContext) -> Iterator[TestClient]:
    with TestClient(create_app(context, [Route("/dashboard/echo", _echo, methods=["POST"])])) as c:
        c.auth = SIGV4
        yield c


def _refusal(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_limit_fits_the_largest_sqs_message_in_any_encoding() -> None:
    # 256 KiB, percent-encoded three bytes a byte in a Query form, plus its envelope.
    assert MAX_REQUEST_BYTES > 3 * 256 * 1024 + 64 * 1024


def test_an_oversized_json_protocol_request_is_refused_with_413(endpoint: Endpoint) -> None:
    sqs = endpoint.client("sqs")
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=f"{endpoint.url}/000000000000/orders", MessageBody=OVERSIZED)
    assert _refusal(refused) == ("RequestEntityTooLarge", 413)


def test_an_oversized_query_protocol_request_is_refused_with_413(endpoint: Endpoint) -> None:
    autoscaling = endpoint.client("autoscaling")
    with pytest.raises(ClientError) as refused:
        autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[OVERSIZED])
    assert _refusal(refused) == ("RequestEntityTooLarge", 413)


def test_an_oversized_ec2_request_is_refused_with_413(endpoint: Endpoint) -> None:
    with pytest.raises(ClientError) as refused:
        endpoint.client("ec2").describe_launch_templates(LaunchTemplateNames=[OVERSIZED])
    assert _refusal(refused) == ("RequestEntityTooLarge", 413)


def test_a_request_within_the_limit_is_served(endpoint: Endpoint) -> None:
    answer = endpoint.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["x" * 1000]
    )
    assert answer["AutoScalingGroups"] == []


def test_an_oversized_json_route_request_is_refused_with_413(client: TestClient) -> None:
    response = client.post(
        "/api/autoscaling/DescribeAutoScalingGroups",
        json={"AutoScalingGroupNames": [OVERSIZED]},
    )
    assert response.status_code == 413
    assert response.json()["Error"]["Code"] == "RequestEntityTooLarge"


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_REQUEST_BYTES // 65536 + 2):
            yield b" " * 65536

    client.auth = None  # type: ignore[assignment]  # the limit comes before the signature
    response = client.post("/api/autoscaling/DescribeAutoScalingGroups", content=chunks())
    assert response.status_code == 413
    assert response.json()["Error"]["Code"] == "RequestEntityTooLarge"


def test_an_oversized_body_to_a_dashboard_route_is_refused_with_413(client: TestClient) -> None:
    response = client.post("/dashboard/echo", content=OVERSIZED.encode())
    assert response.status_code == 413
    assert response.json()["Error"]["Code"] == "RequestEntityTooLarge"
    assert client.post("/dashboard/echo", content=b"{}").json() == {"length": 2}
