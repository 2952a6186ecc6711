"""SQS through ``orchestrator.api.sqs`` on each real broker: the handlers as the front door
calls them, with AWS's member names, against Kafka, RabbitMQ and Redis."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from broker_adapters import QueueConfig, RedrivePolicy, connect, features_of
from orchestrator.api import ApiContext
from orchestrator.api import sqs as sqs_api
from orchestrator.errors import AwsError
from orchestrator.runtime.fake import FakeRuntime
from orchestrator.sqs.checksums import md5_of_attributes
from tests.support.brokers import (
    CONTRACT_BACKEND_FIXTURES,
    QUEUE_BACKENDS,
    Endpoint,
    broker_of,
)
from tests.support.receiving import wait_for

# The handlers are one layer above the brokers (their semantics: the contract suite, on every
# backend); RabbitMQ's SQS path is also in test_sqs_boto3.py. make test runs Kafka and Redis,
# make test-matrix RabbitMQ and Kafka's share groups too.
pytestmark = [pytest.mark.docker, pytest.mark.matrix(ci=("kafka", "redis"))]


@pytest.fixture(params=list(QUEUE_BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    """Each broker, and Kafka with its queues on share groups (``make test-matrix``)."""
    return str(request.param)


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, backend: str) -> Endpoint:
    """The session broker of the test's backend, in the backend's queue mode."""
    fixture: Endpoint = request.getfixturevalue(CONTRACT_BACKEND_FIXTURES[backend])
    return fixture


Sqs = Callable[..., Mapping[str, Any]]


@pytest.fixture
def sqs(tmp_path: Path, endpoint: Endpoint) -> Iterator[Sqs]:
    """Call an action by name: ``sqs("SendMessage", QueueUrl=…, MessageBody=…)``."""
    context = ApiContext(
        store_path=tmp_path / "barista.db",
        runtime=FakeRuntime(),
        environ={"BARISTA_BROKER_URL": endpoint.url},
    )
    actions = sqs_api.actions(context)

    def call(action: str, **params: Any) -> Mapping[str, Any]:
        return actions[action](params)

    yield call
    sqs_api.shutdown()


def refused(code: str, call: Callable[[], object]) -> AwsError:
    with pytest.raises(AwsError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value


def receive(sqs: Sqs, url: str, count: int = 1, wait: int = 10, **params: Any) -> list[Any]:
    """Receive until ``count`` messages arrived (Kafka's first fetch may take a while)."""
    got: list[Any] = []
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        answer = sqs(
            "ReceiveMessage",
            QueueUrl=url,
            MaxNumberOfMessages=min(10, count - len(got)),
            WaitTimeSeconds=wait,
            **params,
        )
        got.extend(answer.get("Messages", []))
    return got


def test_create_queue_answers_a_url_and_aws_attributes(sqs: Sqs, unique_name: str, backend: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    assert url == f"http://127.0.0.1:8500/000000000000/{unique_name}"
    assert sqs("GetQueueUrl", QueueName=unique_name)["QueueUrl"] == url
    assert sqs("CreateQueue", QueueName=unique_name)["QueueUrl"] == url, "idempotent"
    attributes = sqs("GetQueueAttributes", QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:000000000000:{unique_name}"
    assert attributes["VisibilityTimeout"] == "30"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert abs(int(attributes["CreatedTimestamp"]) - time.time()) < 60
    assert sqs("ListQueueTags", QueueUrl=url)["Tags"] == {"barista:backend": broker_of(backend)}
    assert url in sqs("ListQueues", QueueNamePrefix=unique_name)["QueueUrls"]
    refused(
        "QueueNameExists",
        lambda: sqs("CreateQueue", QueueName=unique_name, Attributes={"VisibilityTimeout": "5"}),
    )


def test_a_queue_made_through_the_api_is_the_brokers_queue(
    sqs: Sqs, endpoint: Endpoint, unique_name: str
):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    with connect(endpoint.url) as barista:
        barista.declare_queue(unique_name)
        barista.send(unique_name, b'{"drink": "flat white"}', headers={"table": "4"})
        [message] = receive(sqs, url, MessageAttributeNames=["All"])
        assert message["Body"] == '{"drink": "flat white"}'
        assert message["MessageAttributes"] == {"table": {"DataType": "String", "StringValue": "4"}}
        sqs("DeleteMessage", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        sent = sqs("SendMessage", QueueUrl=url, MessageBody="one cortado")
        deadline = time.monotonic() + 30
        got = []
        while not got and time.monotonic() < deadline:
            got = barista.receive(unique_name, 1, wait=2)
        [delivery] = got
        assert (delivery.message.id, delivery.message.body) == (sent["MessageId"], b"one cortado")
        delivery.ack()


def test_send_and_receive_keep_attributes_and_answer_aws_checksums(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    attributes = {
        "table": {"DataType": "String", "StringValue": "4"},
        "cups": {"DataType": "Number", "StringValue": "2"},
        "photo": {"DataType": "Binary", "BinaryValue": b"\x89PNG\x00"},
    }
    trace = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}}
    sent = sqs(
        "SendMessage",
        QueueUrl=url,
        MessageBody="flat white ☕",
        MessageAttributes=attributes,
        MessageSystemAttributes=trace,
        MessageGroupId="table-4",
    )
    assert sent["MD5OfMessageBody"] == hashlib.md5("flat white ☕".encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attributes)
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(trace)
    [message] = receive(
        sqs,
        url,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == "flat white ☕"
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    system = message["Attributes"]
    assert system["ApproximateReceiveCount"] == "1"
    assert system["MessageGroupId"] == "table-4"
    assert system["AWSTraceHeader"] == "Root=1-abc"
    assert abs(int(system["SentTimestamp"]) / 1000 - time.time()) < 60
    assert int(system["ApproximateFirstReceiveTimestamp"]) >= int(system["SentTimestamp"])


def test_a_deleted_message_is_gone_and_its_handle_no_longer_works(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name, Attributes={"VisibilityTimeout": "2"})[
        "QueueUrl"
    ]
    sqs("SendMessage", QueueUrl=url, MessageBody="espresso")
    [message] = receive(sqs, url)
    handle = message["ReceiptHandle"]
    sqs("DeleteMessage", QueueUrl=url, ReceiptHandle=handle)
    sqs("DeleteMessage", QueueUrl=url, ReceiptHandle=handle)  # ended: succeeds, does nothing
    refused(
        "MessageNotInflight",
        lambda: sqs(
            "ChangeMessageVisibility", QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10
        ),
    )
    refused(
        "ReceiptHandleIsInvalid",
        lambda: sqs("DeleteMessage", QueueUrl=url, ReceiptHandle="garbage"),
    )
    time.sleep(3)
    assert sqs("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None


def test_an_undeleted_message_comes_back_after_its_visibility_timeout(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    sqs("SendMessage", QueueUrl=url, MessageBody="forgotten latte")
    [first] = receive(sqs, url, VisibilityTimeout=2)
    hidden = sqs("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=1)
    assert "Messages" not in hidden, "in flight, so invisible"
    [again] = receive(sqs, url, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    refused(
        "MessageNotInflight",
        lambda: sqs(
            "ChangeMessageVisibility",
            QueueUrl=url,
            ReceiptHandle=first["ReceiptHandle"],
            VisibilityTimeout=5,
        ),
    )
    sqs("DeleteMessage", QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])


def test_change_message_visibility_extends_and_releases(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    sqs("SendMessage", QueueUrl=url, MessageBody="slow pour-over")
    [message] = receive(sqs, url, VisibilityTimeout=2)
    sqs(
        "ChangeMessageVisibility",
        QueueUrl=url,
        ReceiptHandle=message["ReceiptHandle"],
        VisibilityTimeout=6,
    )
    time.sleep(2.5)
    assert "Messages" not in sqs("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=1)
    answer = sqs(
        "ChangeMessageVisibilityBatch",
        QueueUrl=url,
        Entries=[{"Id": "a", "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}],
    )
    assert answer["Successful"] == [{"Id": "a"}]
    [again] = receive(sqs, url)
    assert again["MessageId"] == message["MessageId"]
    sqs("DeleteMessage", QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])


def test_batches_send_receive_and_delete_ten_at_a_time(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    entries = [{"Id": f"m{n}", "MessageBody": f"cup {n}"} for n in range(10)]
    sent = sqs("SendMessageBatch", QueueUrl=url, Entries=entries)
    assert sent["Failed"] == []
    assert sorted(e["Id"] for e in sent["Successful"]) == sorted(e["Id"] for e in entries)
    got = receive(sqs, url, count=10)
    assert sorted(m["Body"] for m in got) == sorted(e["MessageBody"] for e in entries)
    deleted = sqs(
        "DeleteMessageBatch",
        QueueUrl=url,
        Entries=[
            *({"Id": f"d{n}", "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got[:9])),
            {"Id": "bad", "ReceiptHandle": "not-a-handle"},
        ],
    )
    assert len(deleted["Successful"]) == 9
    assert [(f["Id"], f["Code"]) for f in deleted["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    refused("EmptyBatchRequest", lambda: sqs("SendMessageBatch", QueueUrl=url, Entries=[]))
    refused(
        "BatchEntryIdsNotDistinct",
        lambda: sqs("SendMessageBatch", QueueUrl=url, Entries=[entries[0], entries[0]]),
    )
    refused(
        "TooManyEntriesInBatchRequest",
        lambda: sqs(
            "SendMessageBatch", QueueUrl=url, Entries=[*entries, {"Id": "x", "MessageBody": "x"}]
        ),
    )


def test_long_polling_waits_for_a_message_sent_meanwhile(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    sqs("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=1)  # Kafka joins its group here
    started = time.monotonic()
    assert "Messages" not in sqs("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=2)
    assert time.monotonic() - started >= 1.9
    sqs("SendMessage", QueueUrl=url, MessageBody="mocha")
    [message] = receive(sqs, url, wait=20)
    assert message["Body"] == "mocha"


def test_a_poison_message_ends_in_the_dead_letter_queue(sqs: Sqs, unique_name: str):
    dlq = sqs("CreateQueue", QueueName=f"{unique_name}-dlq")["QueueUrl"]
    dlq_arn = sqs("GetQueueAttributes", QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs("CreateQueue", QueueName=unique_name, Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    stored = sqs("GetQueueAttributes", QueueUrl=url, AttributeNames=["RedrivePolicy"])
    assert json.loads(stored["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": 2,
    }
    assert sqs("ListDeadLetterSourceQueues", QueueUrl=dlq)["queueUrls"] == [url]
    sqs("SendMessage", QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        [message] = receive(sqs, url, VisibilityTimeout=1)
        assert message["Body"] == "poison"
    [dead] = receive(sqs, dlq, wait=5, MessageSystemAttributeNames=["All"])
    assert dead["Body"] == "poison"
    assert dead["Attributes"]["DeadLetterQueueSourceArn"].endswith(f":{unique_name}")
    sqs("DeleteMessage", QueueUrl=dlq, ReceiptHandle=dead["ReceiptHandle"])


def test_a_redrive_policy_needs_an_existing_dead_letter_queue(sqs: Sqs, unique_name: str):
    arn = f"arn:aws:sqs:us-east-1:000000000000:{unique_name}-missing"
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    refused(
        "InvalidAttributeValue",
        lambda: sqs("CreateQueue", QueueName=unique_name, Attributes={"RedrivePolicy": policy}),
    )


def test_tags_and_attributes_can_be_changed_but_not_the_backend(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name, tags={"team": "counter"})["QueueUrl"]
    sqs("TagQueue", QueueUrl=url, Tags={"shift": "morning"})
    sqs("UntagQueue", QueueUrl=url, TagKeys=["team"])
    tags = sqs("ListQueueTags", QueueUrl=url)["Tags"]
    assert tags["shift"] == "morning"
    assert "team" not in tags
    refused(
        "InvalidParameterValue",
        lambda: sqs("UntagQueue", QueueUrl=url, TagKeys=["barista:backend"]),
    )
    sqs("SetQueueAttributes", QueueUrl=url, Attributes={"VisibilityTimeout": "45"})
    got = sqs("GetQueueAttributes", QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert got["Attributes"] == {"VisibilityTimeout": "45"}
    refused(
        "InvalidAttributeName",
        lambda: sqs("SetQueueAttributes", QueueUrl=url, Attributes={"QueueArn": "x"}),
    )


def test_what_a_backend_cannot_honour_is_refused_quoting_its_features(
    sqs: Sqs, unique_name: str, endpoint: Endpoint
):
    features = features_of(endpoint.url)
    if not features.fifo_queues:
        error = refused(
            "InvalidAttributeValue",
            lambda: sqs(
                "CreateQueue", QueueName=f"{unique_name}.fifo", Attributes={"FifoQueue": "true"}
            ),
        )
        assert "Features.fifo_queues=False" in error.message
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    if not features.delivery_delay:
        error = refused(
            "InvalidAttributeValue",
            lambda: sqs("SendMessage", QueueUrl=url, MessageBody="later", DelaySeconds=5),
        )
        assert "Features.delivery_delay=False" in error.message


def test_a_delayed_message_is_counted_then_delivered(
    sqs: Sqs, endpoint: Endpoint, unique_name: str, backend: str
):
    if not features_of(endpoint.url).delivery_delay:
        pytest.skip(f"{backend} declares Features.delivery_delay=False (refusal tested above)")
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    sqs("SendMessage", QueueUrl=url, MessageBody="cold brew", DelaySeconds=2)
    assert "Messages" not in sqs("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=1)
    [message] = receive(sqs, url, wait=5)
    assert message["Body"] == "cold brew"


def test_counts_follow_the_queue(sqs: Sqs, unique_name: str, backend: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    sqs(
        "SendMessageBatch",
        QueueUrl=url,
        Entries=[{"Id": f"m{n}", "MessageBody": "x"} for n in range(3)],
    )

    def counts() -> tuple[str, str]:
        got = sqs(
            "GetQueueAttributes",
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return got["ApproximateNumberOfMessages"], got["ApproximateNumberOfMessagesNotVisible"]

    assert wait_for(lambda: counts() == ("3", "0"), timeout=20), counts()
    receive(sqs, url, count=1)
    # RabbitMQ's in-flight count comes from its management API, refreshed every few seconds.
    assert wait_for(lambda: counts() == ("2", "1"), timeout=20), counts()


def test_purge_deletes_the_messages(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    sqs(
        "SendMessageBatch",
        QueueUrl=url,
        Entries=[{"Id": f"m{n}", "MessageBody": "x"} for n in range(5)],
    )
    receive(sqs, url, count=1)
    sqs("PurgeQueue", QueueUrl=url)
    refused("PurgeQueueInProgress", lambda: sqs("PurgeQueue", QueueUrl=url))
    assert "Messages" not in sqs("ReceiveMessage", QueueUrl=url, WaitTimeSeconds=2)


def test_a_deleted_queue_is_gone(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    sqs("DeleteQueue", QueueUrl=url)
    refused("QueueDoesNotExist", lambda: sqs("GetQueueUrl", QueueName=unique_name))
    refused("QueueDoesNotExist", lambda: sqs("SendMessage", QueueUrl=url, MessageBody="x"))


def test_a_message_move_task_redrives_the_dead_letter_queue(sqs: Sqs, unique_name: str):
    dlq = sqs("CreateQueue", QueueName=f"{unique_name}-dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:us-east-1:000000000000:{unique_name}-dlq"
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs("CreateQueue", QueueName=unique_name, Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    sqs(
        "SendMessage",
        QueueUrl=url,
        MessageBody="second chance",
        MessageAttributes={"table": {"DataType": "String", "StringValue": "7"}},
    )
    receive(sqs, url, VisibilityTimeout=1)
    [dead] = receive(sqs, dlq, wait=5, VisibilityTimeout=1)
    assert dead["Body"] == "second chance"
    time.sleep(1.5)  # let the dead-letter copy's visibility end
    handle = sqs("StartMessageMoveTask", SourceArn=dlq_arn)["TaskHandle"]

    def status() -> str:
        [task] = sqs("ListMessageMoveTasks", SourceArn=dlq_arn)["Results"]
        return str(task["Status"])

    assert wait_for(lambda: status() == "COMPLETED", timeout=30), status()
    [task] = sqs("ListMessageMoveTasks", SourceArn=dlq_arn)["Results"]
    assert task["ApproximateNumberOfMessagesMoved"] == 1
    assert handle
    [back] = receive(sqs, url, MessageAttributeNames=["All"])
    assert back["Body"] == "second chance"
    assert back["MessageAttributes"]["table"]["StringValue"] == "7"
    sqs("DeleteMessage", QueueUrl=url, ReceiptHandle=back["ReceiptHandle"])


def test_binary_attributes_survive_the_broker_as_base64(sqs: Sqs, unique_name: str):
    url = sqs("CreateQueue", QueueName=unique_name)["QueueUrl"]
    blob = bytes(range(256))
    sqs(
        "SendMessage",
        QueueUrl=url,
        MessageBody="raw",
        MessageAttributes={"blob": {"DataType": "Binary", "BinaryValue": blob}},
    )
    [message] = receive(sqs, url, MessageAttributeNames=["blob"])
    assert message["MessageAttributes"]["blob"]["BinaryValue"] == blob
    assert base64.b64encode(blob)


def test_a_queue_workers_declared_is_adopted_with_its_redrive_policy(
    sqs: Sqs, endpoint: Endpoint, unique_name: str, backend: str
):
    with connect(endpoint.url) as barista:
        barista.declare_queue(f"{unique_name}-dlq")
        barista.declare_queue(
            unique_name,
            QueueConfig(redrive_policy=RedrivePolicy(f"{unique_name}-dlq", 5)),
        )
        url = sqs("GetQueueUrl", QueueName=unique_name)["QueueUrl"]
        assert url.endswith(f"/000000000000/{unique_name}")
        assert url in sqs("ListQueues", QueueNamePrefix=unique_name)["QueueUrls"]
        got = sqs("GetQueueAttributes", QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if broker_of(backend) != "kafka":  # Kafka keeps no redrive policy in the broker
            assert json.loads(got["RedrivePolicy"]) == {
                "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:000000000000:{unique_name}-dlq",
                "maxReceiveCount": 5,
            }
        sent = sqs("SendMessage", QueueUrl=url, MessageBody="from the API")
        taken = []
        deadline = time.monotonic() + 30
        while not taken and time.monotonic() < deadline:
            taken = barista.receive(unique_name, 1, wait=2)
        [delivery] = taken
        assert delivery.message.id == sent["MessageId"]
        delivery.ack()
    refused("QueueDoesNotExist", lambda: sqs("GetQueueUrl", QueueName=f"{unique_name}-none"))


def test_list_queues_shows_the_demos_queues_before_anyone_asked_for_them(
    tmp_path: Path, endpoint: Endpoint, unique_name: str, backend: str
):
    """``aws sqs list-queues`` on a fresh demo: the queue the baristas declared (named by
    BARISTA_SQS_QUEUES) and its dead-letter queue, adopted from the broker."""
    context = ApiContext(
        store_path=tmp_path / "demo.db",
        runtime=FakeRuntime(),
        environ={"BARISTA_BROKER_URL": endpoint.url, "BARISTA_SQS_QUEUES": unique_name},
    )
    actions = sqs_api.actions(context)
    assert actions["ListQueues"]({})["QueueUrls"] == []  # not declared by a worker yet
    with connect(endpoint.url) as barista:
        barista.declare_queue(f"{unique_name}-dlq")
        barista.declare_queue(
            unique_name, QueueConfig(redrive_policy=RedrivePolicy(f"{unique_name}-dlq", 5))
        )
        urls = actions["ListQueues"]({})["QueueUrls"]
    names = sorted(url.rsplit("/", 1)[-1] for url in urls)
    # Kafka keeps no redrive policy in the broker, so only the queue itself is found there.
    dead_letters = [] if broker_of(backend) == "kafka" else [f"{unique_name}-dlq"]
    assert names == [unique_name, *dead_letters]
