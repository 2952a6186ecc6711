"""A property-based fuzz of the front door's request parsing: whatever a signed request carries
(a Query form, a JSON body), the answer is a clear error, never a 5xx but 501 NotImplemented
and 503 ServiceUnavailable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from orchestrator.api import ApiContext, create_app
from orchestrator.api.front_door import service_model
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_endpoint import CREDENTIALS, KEY_ID, SECRET

START = datetime(2026, 11, 28).timestamp()
ALLOWED_5XX = {501, 503}
QUERY_SERVICES = ("autoscaling", "ec2", "elasticloadbalancing", "monitoring", "sns")
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
SCALAR = TEXT | st.integers(-(2**70), 2**70).map(str) | st.sampled_from(["", "true", "1e400"])
KEY = (
    st.sampled_from(
        ["Name", "MaxSize", "MinSize", "member.1", "Tags.member.1.Key", "Filters.Filter.1.Name"]
    )
    | TEXT
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "barista.db"
    context = ApiContext(path, FakeRuntime(start=START), credentials=CREDENTIALS)
    with TestClient(create_app(context), raise_server_exceptions=False) as opened:
        yield opened


def _signed(service: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    request = AWSRequest("POST", "http://testserver/", data=body, headers=headers)
    SigV4Auth(BotoCredentials(KEY_ID, SECRET), service, "us-east-1").add_auth(request)
    return dict(request.headers.items())


def _operations(name: str) -> list[str]:
    return list(service_model(name).operation_names)


@given(
    st.sampled_from(QUERY_SERVICES),
    st.data(),
    st.dictionaries(KEY, SCALAR, max_size=6),
)
@FUZZ
def test_no_query_form_gets_a_5xx(client: TestClient, signing: str, data, form) -> None:  # type: ignore[no-untyped-def]
    model = {"elasticloadbalancing": "elbv2", "monitoring": "cloudwatch"}.get(signing, signing)
    action = data.draw(st.sampled_from(_operations(model)))
    body = urlencode({"Action": action, "Version": service_model(model).api_version, **form})
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    response = client.post("/", content=body, headers=_signed(signing, body.encode(), headers))
    assert response.status_code < 500 or response.status_code in ALLOWED_5XX, response.text


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@given(st.data(), st.dictionaries(TEXT | KEY, JSON_VALUE, max_size=5))
@FUZZ
def test_no_json_body_gets_a_5xx(client: TestClient, data, document) -> None:  # type: ignore[no-untyped-def]
    model = service_model("sqs")
    action = data.draw(st.sampled_from(_operations("sqs")))
    body = json.dumps(document).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"{model.metadata['targetPrefix']}.{action}",
    }
    response = client.post("/", content=body, headers=_signed("sqs", body, headers))
    assert response.status_code < 500 or response.status_code in ALLOWED_5XX, response.text
