"""boto3 and the aws CLI against Barista's SQS, through the front door, on each real broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker_adapters import connect
from orchestrator.api import ApiContext
from orchestrator.api import sqs as sqs_api
from orchestrator.runtime.fake import FakeRuntime
from tests.support.aws_endpoint import CREDENTIALS, Endpoint, serve
from tests.support.brokers import Endpoint as BrokerEndpoint

pytestmark = pytest.mark.docker


@pytest.fixture
def api(tmp_path: Path, endpoint: BrokerEndpoint) -> Iterator[Endpoint]:
    environ = {"BARISTA_BROKER_URL": endpoint.url}
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(), environ, CREDENTIALS)
    try:
        with serve(context) as served:
            yield served
    finally:
        sqs_api.shutdown()


def test_boto3_sends_receives_and_deletes(api: Endpoint, unique_name: str):
    sqs: Any = api.client("sqs")
    url = sqs.create_queue(QueueName=unique_name, Attributes={"VisibilityTimeout": "20"})[
        "QueueUrl"
    ]
    assert sqs.get_queue_url(QueueName=unique_name)["QueueUrl"] == url
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="one flat white",
        MessageAttributes={"table": {"DataType": "Number", "StringValue": "4"}},
    )
    got: list[Any] = []
    for _ in range(5):
        got = sqs.receive_message(
            QueueUrl=url,
            WaitTimeSeconds=5,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        if got:
            break
    [message] = got
    assert message["MessageId"] == sent["MessageId"]
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert message["MessageAttributes"]["table"] == {"DataType": "Number", "StringValue": "4"}
    assert message["Attributes"] == {"ApproximateReceiveCount": "1"}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as missing:
        sqs.get_queue_url(QueueName=f"{unique_name}-nowhere")
    # AWS's JSON answer repeats the Query code in x-amzn-query-error; botocore reports both.
    error = missing.value.response["Error"]
    assert (error["Code"], error["QueryErrorCode"]) == (
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    )


def test_the_aws_cli_creates_a_queue_a_barista_reads(
    api: Endpoint, endpoint: BrokerEndpoint, unique_name: str
):
    # awscli 1.x resolves SQS's legacy global endpoint unless told the URL outright.
    created = api.aws("sqs", "create-queue", "--queue-name", unique_name, "--endpoint-url", api.url)
    assert created.returncode == 0, created.stderr
    url = json.loads(created.stdout)["QueueUrl"]
    sent = api.aws(
        "sqs",
        "send-message",
        "--queue-url",
        url,
        "--message-body",
        "cortado",
        "--endpoint-url",
        api.url,
    )
    assert sent.returncode == 0, sent.stderr
    with connect(endpoint.url) as barista:
        barista.declare_queue(unique_name)
        got = []
        for _ in range(10):
            got = barista.receive(unique_name, 1, wait=2)
            if got:
                break
        [delivery] = got
        assert delivery.message.body == b"cortado"
        assert delivery.message.id == json.loads(sent.stdout)["MessageId"]
        delivery.ack()
