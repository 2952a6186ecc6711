"""SQS FIFO queues through the front door with boto3, on each real broker: the order per
MessageGroupId, a group held while one of its messages is in flight, SequenceNumber,
deduplication (by id and by content), a FIFO dead-letter queue; refused with the declaration
where the backend has no FIFO queues."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from broker_adapters import backend_class
from orchestrator.api import ApiContext
from orchestrator.api import sqs as sqs_api
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.sqs.model import SCHEME_BACKENDS
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


@pytest.fixture
def fifo_backend(backend: str) -> str:
    scheme = next(s for s, name in SCHEME_BACKENDS.items() if name == backend)
    features = backend_class(scheme).features
    if not features.fifo_queues:
        pytest.skip(f"{backend} declares fifo_queues=False")
    return backend


def _receive(sqs: Any, url: str, count: int = 10, wait: int = 2, **options: Any) -> list[Any]:
    messages: list[Any] = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        WaitTimeSeconds=wait,
        MessageSystemAttributeNames=["All"],
        **options,
    ).get("Messages", [])
    return messages


def _create_fifo(sqs: Any, name: str, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})[
        "QueueUrl"
    ]
    return url


def test_a_fifo_queue_is_refused_where_the_backend_declares_none(api: Endpoint, backend: str):
    scheme = next(s for s, name in SCHEME_BACKENDS.items() if name == backend)
    if backend_class(scheme).features.fifo_queues:
        pytest.skip(f"{backend} declares fifo_queues=True")
    sqs: Any = api.client("sqs")
    with pytest.raises(ClientError) as refused:
        _create_fifo(sqs, "orders.fifo")
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidAttributeValue"
    assert "Features.fifo_queues=False" in error["Message"]


def test_boto3_orders_each_group_and_holds_it_while_a_message_is_in_flight(
    api: Endpoint, fifo_backend: str, unique_name: str
):
    sqs: Any = api.client("sqs")
    url = _create_fifo(sqs, f"{unique_name}.fifo")
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": "o1",
                "MessageBody": "o1",
                "MessageGroupId": "c1",
                "MessageDeduplicationId": "1",
            },
            {
                "Id": "o2",
                "MessageBody": "o2",
                "MessageGroupId": "c1",
                "MessageDeduplicationId": "2",
            },
            {
                "Id": "o3",
                "MessageBody": "o3",
                "MessageGroupId": "c2",
                "MessageDeduplicationId": "3",
            },
        ],
    )
    assert not sent.get("Failed"), sent
    by_id = {entry["Id"]: entry for entry in sent["Successful"]}
    numbers = [int(by_id[i]["SequenceNumber"]) for i in ("o1", "o2", "o3")]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    again = sqs.send_message(
        QueueUrl=url, MessageBody="o1 again", MessageGroupId="c1", MessageDeduplicationId="1"
    )
    assert again["MessageId"] == by_id["o1"]["MessageId"], "a duplicate answers the original"

    [first] = _receive(sqs, url, count=1)
    assert first["Body"] == "o1"
    assert first["Attributes"]["MessageGroupId"] == "c1"
    assert first["Attributes"]["MessageDeduplicationId"] == "1"
    assert first["Attributes"]["SequenceNumber"] == by_id["o1"]["SequenceNumber"]
    [other] = _receive(sqs, url)
    assert other["Body"] == "o3", "c1 is held while o1 is in flight; c2 flows"
    assert _receive(sqs, url, wait=1) == []
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    [second] = _receive(sqs, url)
    assert second["Body"] == "o2"
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    [retried] = _receive(sqs, url)
    assert (retried["Body"], retried["Attributes"]["ApproximateReceiveCount"]) == ("o2", "2")
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["FifoQueue"] == "true"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "2"  # o3 and o2
    sqs.delete_message(QueueUrl=url, ReceiptHandle=retried["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=other["ReceiptHandle"])
    assert _receive(sqs, url, wait=1) == [], "the duplicate was never delivered"


def test_boto3_is_refused_what_sqs_refuses_on_a_fifo_queue(
    api: Endpoint, fifo_backend: str, unique_name: str
):
    sqs: Any = api.client("sqs")
    url = _create_fifo(sqs, f"{unique_name}.fifo", ContentBasedDeduplication="true")
    with pytest.raises(ClientError) as missing:
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    assert missing.value.response["Error"]["Code"] == "MissingParameter"
    with pytest.raises(ClientError) as delayed:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="a", DelaySeconds=5)
    assert delayed.value.response["Error"]["Code"] == "InvalidParameterValue"
    body = '{"order": "42"}'
    first = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    second = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    assert first["MessageId"] == second["MessageId"], "the same content within 5 minutes"
    [message] = _receive(sqs, url)
    assert (
        message["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(body.encode()).hexdigest()
    )


def test_boto3_dead_letters_to_a_fifo_queue_and_the_group_moves_on(
    api: Endpoint, fifo_backend: str, unique_name: str
):
    sqs: Any = api.client("sqs")
    dlq = _create_fifo(sqs, f"{unique_name}-dlq.fifo")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = _create_fifo(
        sqs,
        f"{unique_name}.fifo",
        ContentBasedDeduplication="true",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    )
    for body in ("poison", "good"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    [poison] = _receive(sqs, url, count=1)
    assert poison["Body"] == "poison"
    # Its one receive used up: giving it back dead-letters it, and "good" is next in group a.
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=poison["ReceiptHandle"], VisibilityTimeout=0
    )
    [good] = _receive(sqs, url)
    assert good["Body"] == "good"
    [letter] = _receive(sqs, dlq)
    assert letter["Body"] == "poison"
    assert letter["Attributes"]["MessageGroupId"] == "a"
    assert letter["Attributes"]["DeadLetterQueueSourceArn"].endswith(f":{unique_name}.fifo")


def test_a_retried_receive_with_the_same_attempt_id_answers_the_same_messages(
    api: Endpoint, fifo_backend: str, unique_name: str
):
    sqs: Any = api.client("sqs")
    url = _create_fifo(sqs, f"{unique_name}.fifo", ContentBasedDeduplication="true")
    for body in ("o1", "o2"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    [first] = _receive(sqs, url, count=1, ReceiveRequestAttemptId="attempt-1")
    [retried] = _receive(sqs, url, count=1, ReceiveRequestAttemptId="attempt-1")
    assert (retried["MessageId"], retried["ReceiptHandle"]) == (
        first["MessageId"],
        first["ReceiptHandle"],
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    [after] = _receive(sqs, url, count=1, ReceiveRequestAttemptId="attempt-1")
    assert after["Body"] == "o2", "a message of the first answer was deleted: a new receive"
