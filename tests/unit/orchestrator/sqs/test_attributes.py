"""Queue attributes: AWS's ranges and defaults, and refusals that quote a backend's Features."""

from __future__ import annotations

import json

import pytest

from broker_adapters.kafka import FEATURES as KAFKA
from broker_adapters.rabbitmq import RabbitMQBroker
from broker_adapters.redis import RedisBroker
from orchestrator.errors import AwsError
from orchestrator.sqs.attributes import DEFAULTS, allows_source, redrive, validate

REDIS = RedisBroker.features
RABBITMQ = RabbitMQBroker.features
DLQ_ARN = "arn:aws:sqs:us-east-1:000000000000:orders-dlq"


def test_a_new_queue_gets_aws_defaults():
    assert validate({}, REDIS, queue_name="orders") == DEFAULTS
    assert DEFAULTS["VisibilityTimeout"] == "30"
    assert DEFAULTS["MessageRetentionPeriod"] == str(4 * 24 * 3600)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("VisibilityTimeout", 0, 43200),
        ("DelaySeconds", 0, 900),
        ("ReceiveMessageWaitTimeSeconds", 0, 20),
        ("MaximumMessageSize", 1024, 262144),
    ],
)
def test_integer_attributes_are_held_to_aws_ranges(name: str, low: int, high: int):
    assert validate({name: str(low)}, REDIS, queue_name="q")[name] == str(low)
    assert validate({name: str(high)}, REDIS, queue_name="q")[name] == str(high)
    for wrong in (str(low - 1), str(high + 1), "soon"):
        with pytest.raises(AwsError) as refused:
            validate({name: wrong}, REDIS, queue_name="q")
        assert refused.value.code == "InvalidAttributeValue"


def test_unknown_and_read_only_attributes_are_invalid_names():
    for name in ("Colour", "QueueArn", "ApproximateNumberOfMessages"):
        with pytest.raises(AwsError) as refused:
            validate({name: "1"}, REDIS, queue_name="q")
        assert refused.value.code == "InvalidAttributeName"


def test_a_delay_is_refused_where_the_backend_cannot_delay_quoting_its_features():
    assert validate({"DelaySeconds": "5"}, RABBITMQ, queue_name="q")["DelaySeconds"] == "5"
    with pytest.raises(AwsError, match=r"Features\.delivery_delay=False") as refused:
        validate({"DelaySeconds": "5"}, KAFKA, queue_name="q")
    assert refused.value.code == "InvalidAttributeValue"


def test_a_retention_other_than_the_default_is_refused_not_ignored():
    with pytest.raises(AwsError, match="no retention") as refused:
        validate({"MessageRetentionPeriod": "60"}, REDIS, queue_name="q")
    assert refused.value.code == "InvalidAttributeValue"


@pytest.mark.parametrize("features", [KAFKA, RABBITMQ], ids=lambda f: f.name)
def test_fifo_is_refused_where_the_backend_declares_no_fifo_queues(features):
    with pytest.raises(AwsError, match=r"Features\.fifo_queues=False") as refused:
        validate({"FifoQueue": "true"}, features, queue_name="orders.fifo")
    assert refused.value.code == "InvalidAttributeValue"


def test_a_fifo_queue_on_redis_gets_aws_fifo_defaults():
    stored = validate({"FifoQueue": "true"}, REDIS, queue_name="orders.fifo")
    assert stored["FifoQueue"] == "true"
    assert stored["ContentBasedDeduplication"] == "false"
    assert stored["DeduplicationScope"] == "queue"
    assert stored["FifoThroughputLimit"] == "perQueue"


def test_deduplication_per_message_group_is_refused_with_the_reason():
    with pytest.raises(AwsError, match="deduplicates per queue") as refused:
        validate(
            {"FifoQueue": "true", "DeduplicationScope": "messageGroup"},
            REDIS,
            queue_name="orders.fifo",
        )
    assert refused.value.code == "InvalidAttributeValue"


def test_fifo_only_attributes_are_unknown_on_a_standard_queue():
    with pytest.raises(AwsError) as refused:
        validate({"ContentBasedDeduplication": "true"}, REDIS, queue_name="q")
    assert refused.value.code == "InvalidAttributeName"


def test_a_fifo_name_needs_a_fifo_queue():
    with pytest.raises(AwsError, match=r"\.fifo"):
        validate({}, REDIS, queue_name="orders.fifo")


def test_a_redrive_policy_is_stored_as_aws_returns_it():
    given = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": "5"})
    stored = validate({"RedrivePolicy": given}, REDIS, queue_name="orders")
    assert json.loads(stored["RedrivePolicy"]) == {
        "deadLetterTargetArn": DLQ_ARN,
        "maxReceiveCount": 5,
    }
    policy = redrive(stored)
    assert policy is not None
    assert (policy.dead_letter_queue, policy.max_receive_count) == ("orders-dlq", 5)


@pytest.mark.parametrize(
    "given",
    [
        "not json",
        json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 0}),
        json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 1001}),
        json.dumps({"deadLetterTargetArn": "orders-dlq", "maxReceiveCount": 5}),
    ],
)
def test_a_bad_redrive_policy_is_refused(given: str):
    with pytest.raises(AwsError) as refused:
        validate({"RedrivePolicy": given}, REDIS, queue_name="orders")
    assert refused.value.code == "InvalidAttributeValue"


def test_an_empty_redrive_policy_removes_it():
    given = json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5})
    current = validate({"RedrivePolicy": given}, REDIS, queue_name="orders")
    assert "RedrivePolicy" not in validate(
        {"RedrivePolicy": ""}, REDIS, queue_name="orders", current=current
    )


def test_a_redrive_allow_policy_decides_which_sources_may_use_the_queue():
    source = "arn:aws:sqs:us-east-1:000000000000:orders"
    by_queue = validate(
        {
            "RedriveAllowPolicy": json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [source]}
            )
        },
        REDIS,
        queue_name="orders-dlq",
    )
    assert allows_source(by_queue, source)
    assert not allows_source(by_queue, source + "-2")
    deny = validate(
        {"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})},
        REDIS,
        queue_name="orders-dlq",
    )
    assert not allows_source(deny, source)
    assert allows_source(DEFAULTS, source)
    with pytest.raises(AwsError):
        validate(
            {"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue"})},
            REDIS,
            queue_name="orders-dlq",
        )
