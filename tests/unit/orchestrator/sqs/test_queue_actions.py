"""Queue actions through ``orchestrator.api.sqs`` over in-memory brokers (no Docker)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from broker_adapters import Broker
from orchestrator.api import ApiContext
from orchestrator.api import sqs as sqs_api
from orchestrator.errors import AwsError
from orchestrator.runtime.fake import FakeRuntime
from tests.unit.services.fakes import RecordingBroker

Sqs = Callable[..., Mapping[str, Any]]
ENVIRON = {"BARISTA_BROKER_URL": "redis://u:p@127.0.0.1:1/0", "BARISTA_KAFKA_URL": "kafka://k:9"}


@pytest.fixture
def brokers(monkeypatch: pytest.MonkeyPatch) -> dict[str, RecordingBroker]:
    opened: dict[str, RecordingBroker] = {}

    def opener(url: str) -> Broker:
        return opened.setdefault(url.split(":", 1)[0], RecordingBroker())

    monkeypatch.setattr("orchestrator.sqs.brokers.connect", opener)
    return opened


@pytest.fixture
def sqs(tmp_path: Path, brokers: dict[str, RecordingBroker]) -> Iterator[Sqs]:
    context = ApiContext(tmp_path / "barista.db", FakeRuntime(), ENVIRON)
    actions = sqs_api.actions(context)
    yield lambda action, **params: actions[action](params)
    sqs_api.shutdown()


def refused(code: str, call: Callable[[], object]) -> str:
    with pytest.raises(AwsError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value.message


def arn(name: str) -> str:
    return f"arn:aws:sqs:us-east-1:000000000000:{name}"


def test_a_queue_lives_on_the_default_backend_unless_tagged(sqs: Sqs, brokers):
    sqs("CreateQueue", QueueName="orders")
    sqs("CreateQueue", QueueName="events", tags={"barista:backend": "kafka"})
    tags = sqs("ListQueueTags", QueueUrl="http://anyhost/000000000000/orders")["Tags"]
    assert tags == {"barista:backend": "redis"}
    assert brokers["redis"].describe_queue("orders") is not None
    assert brokers["kafka"].describe_queue("events") is not None


def test_a_backend_without_a_broker_url_is_refused(sqs: Sqs):
    message = refused(
        "InvalidParameterValue",
        lambda: sqs("CreateQueue", QueueName="q", tags={"barista:backend": "rabbitmq"}),
    )
    assert "BARISTA_RABBITMQ_URL" in message
    refused(
        "InvalidParameterValue",
        lambda: sqs("CreateQueue", QueueName="q", tags={"barista:backend": "sqs"}),
    )


def test_a_kafka_queue_cannot_delay_and_says_why(sqs: Sqs):
    message = refused(
        "InvalidAttributeValue",
        lambda: sqs(
            "CreateQueue",
            QueueName="later",
            Attributes={"DelaySeconds": "10"},
            tags={"barista:backend": "kafka"},
        ),
    )
    assert "Features.delivery_delay=False" in message


def test_creating_again_with_other_attributes_is_refused(sqs: Sqs):
    sqs("CreateQueue", QueueName="orders", Attributes={"VisibilityTimeout": "10"})
    sqs("CreateQueue", QueueName="orders", Attributes={"VisibilityTimeout": "10"})
    refused("QueueNameExists", lambda: sqs("CreateQueue", QueueName="orders"))
    refused("InvalidParameterValue", lambda: sqs("CreateQueue", QueueName="no spaces"))


def test_a_dead_letter_queue_must_share_the_backend_and_allow_the_source(sqs: Sqs):
    sqs("CreateQueue", QueueName="elsewhere", tags={"barista:backend": "kafka"})
    deny = json.dumps({"redrivePermission": "denyAll"})
    sqs("CreateQueue", QueueName="closed", Attributes={"RedriveAllowPolicy": deny})
    for target in ("elsewhere", "closed", "missing"):
        policy = json.dumps({"deadLetterTargetArn": arn(target), "maxReceiveCount": 3})
        refused(
            "InvalidAttributeValue",
            lambda p=policy: sqs(
                "CreateQueue", QueueName="orders", Attributes={"RedrivePolicy": p}
            ),
        )


def test_dead_letter_sources_are_listed(sqs: Sqs):
    dlq = sqs("CreateQueue", QueueName="orders-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn("orders-dlq"), "maxReceiveCount": 3})
    url = sqs("CreateQueue", QueueName="orders", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    assert sqs("ListDeadLetterSourceQueues", QueueUrl=dlq)["queueUrls"] == [url]
    sqs("SetQueueAttributes", QueueUrl=url, Attributes={"RedrivePolicy": ""})
    assert sqs("ListDeadLetterSourceQueues", QueueUrl=dlq)["queueUrls"] == []


def test_the_backend_tag_is_fixed(sqs: Sqs):
    url = sqs("CreateQueue", QueueName="orders")["QueueUrl"]
    refused(
        "InvalidParameterValue",
        lambda: sqs("TagQueue", QueueUrl=url, Tags={"barista:backend": "kafka"}),
    )
    sqs("TagQueue", QueueUrl=url, Tags={"barista:backend": "redis", "team": "bar"})
    assert sqs("ListQueueTags", QueueUrl=url)["Tags"]["team"] == "bar"


def test_list_queues_pages_by_name(sqs: Sqs):
    for name in ("a1", "a2", "a3", "b1"):
        sqs("CreateQueue", QueueName=name)
    first = sqs("ListQueues", QueueNamePrefix="a", MaxResults=2)
    assert [u.rsplit("/", 1)[1] for u in first["QueueUrls"]] == ["a1", "a2"]
    rest = sqs("ListQueues", QueueNamePrefix="a", MaxResults=2, NextToken=first["NextToken"])
    assert [u.rsplit("/", 1)[1] for u in rest["QueueUrls"]] == ["a3"]
    assert "NextToken" not in rest


def test_unknown_queues_and_attributes_are_refused(sqs: Sqs):
    refused("QueueDoesNotExist", lambda: sqs("GetQueueUrl", QueueName="nowhere"))
    refused("QueueDoesNotExist", lambda: sqs("GetQueueAttributes", QueueUrl="http://h/0/nowhere"))
    url = sqs("CreateQueue", QueueName="orders")["QueueUrl"]
    refused(
        "InvalidAttributeName",
        lambda: sqs("GetQueueAttributes", QueueUrl=url, AttributeNames=["Colour"]),
    )
    got = sqs("GetQueueAttributes", QueueUrl=url, AttributeNames=["QueueArn", "DelaySeconds"])
    assert got["Attributes"] == {"QueueArn": arn("orders"), "DelaySeconds": "0"}


def test_deleting_a_queue_deletes_it_on_its_broker(sqs: Sqs, brokers):
    url = sqs("CreateQueue", QueueName="orders")["QueueUrl"]
    sqs("DeleteQueue", QueueUrl=url)
    assert brokers["redis"].describe_queue("orders") is None
    refused("QueueDoesNotExist", lambda: sqs("GetQueueUrl", QueueName="orders"))


def test_a_fifo_queue_needs_a_group_and_a_deduplication_id_on_every_message(sqs: Sqs, brokers):
    url = sqs("CreateQueue", QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    described = brokers["redis"].describe_queue("orders.fifo")
    assert described is not None
    assert described.fifo
    message = refused("MissingParameter", lambda: sqs("SendMessage", QueueUrl=url, MessageBody="x"))
    assert "MessageGroupId" in message
    message = refused(
        "InvalidParameterValue",
        lambda: sqs("SendMessage", QueueUrl=url, MessageBody="x", MessageGroupId="table-4"),
    )
    assert "ContentBasedDeduplication" in message
    refused(
        "InvalidParameterValue",
        lambda: sqs(
            "SendMessage",
            QueueUrl=url,
            MessageBody="x",
            MessageGroupId="table 4",  # a space is not in SQS's alphabet
            MessageDeduplicationId="d-1",
        ),
    )
    sqs(
        "SendMessage",
        QueueUrl=url,
        MessageBody="x",
        MessageGroupId="t4",
        MessageDeduplicationId="d",
    )
    [sent] = brokers["redis"].sent
    assert (sent.message.group_id, sent.message.dedup_id) == ("t4", "d")


def test_a_fifo_queue_refuses_a_delay_per_message_but_not_zero(sqs: Sqs, brokers):
    url = sqs(
        "CreateQueue",
        QueueName="orders.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    message = refused(
        "InvalidParameterValue",
        lambda: sqs(
            "SendMessage", QueueUrl=url, MessageBody="x", MessageGroupId="a", DelaySeconds=5
        ),
    )
    assert "not valid for this queue type" in message
    sqs("SendMessage", QueueUrl=url, MessageBody="x", MessageGroupId="a", DelaySeconds=0)
    assert len(brokers["redis"].sent) == 1


def test_content_based_deduplication_is_the_sha256_of_the_body(sqs: Sqs, brokers):
    url = sqs(
        "CreateQueue",
        QueueName="orders.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    sqs("SendMessage", QueueUrl=url, MessageBody="one flat white", MessageGroupId="a")
    sqs(
        "SendMessage",
        QueueUrl=url,
        MessageBody="x",
        MessageGroupId="a",
        MessageDeduplicationId="own",
    )
    first, second = brokers["redis"].sent
    assert first.message.dedup_id == hashlib.sha256(b"one flat white").hexdigest()
    assert second.message.dedup_id == "own", "an explicit id overrides the content's"


def test_fifo_queues_are_refused_on_a_backend_without_them(sqs: Sqs):
    message = refused(
        "InvalidAttributeValue",
        lambda: sqs(
            "CreateQueue",
            QueueName="orders.fifo",
            Attributes={"FifoQueue": "true"},
            tags={"barista:backend": "kafka"},
        ),
    )
    assert "Features.fifo_queues=False" in message
