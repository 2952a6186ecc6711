"""Delivery.change_visibility: SQS's ChangeMessageVisibility on a received message."""

from __future__ import annotations

import pytest

from broker_adapters import Broker, QueueConfig, RedrivePolicy, UnsupportedSemantic
from tests.contract.conftest import require
from tests.support.receiving import receive_count


def test_change_visibility_holds_the_message_longer_and_still_allows_the_ack(
    broker: Broker, unique_name: str
):
    require(broker, "visibility_changes")
    broker.declare_queue(unique_name, QueueConfig(visibility_timeout=1))
    broker.send(unique_name, b"slow brew")
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert delivery.change_visibility(5) is True
    # A long poll past the original 1 s deadline: the extended message stays hidden throughout.
    assert broker.receive(unique_name, 1, wait=1.5) == [], "the extended message stayed hidden"
    assert delivery.ack() is True
    assert broker.receive(unique_name, 1, wait=1) == []


def test_change_visibility_to_zero_makes_the_message_receivable_at_once(
    broker: Broker, unique_name: str
):
    require(broker, "visibility_changes")
    broker.declare_queue(unique_name, QueueConfig(visibility_timeout=60))
    broker.send(unique_name, b"hand it back")
    [first] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert first.change_visibility(0) is True
    [again] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert again.message.id == first.message.id
    assert again.message.attempt == 2
    assert first.change_visibility(30) is False, "a stale delivery's receipt no longer works"
    assert again.ack() is True


def test_change_visibility_on_a_settled_delivery_does_nothing(broker: Broker, unique_name: str):
    require(broker, "visibility_changes")
    broker.declare_queue(unique_name)
    broker.send(unique_name, b"done")
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1, ack=False)
    assert delivery.ack() is True
    assert delivery.change_visibility(10) is False


def test_change_visibility_is_refused_where_the_backend_declares_no_visibility_timeout(
    broker: Broker, unique_name: str
):
    require(broker, "visibility_changes", wanted=False)
    broker.declare_queue(unique_name)
    broker.send(unique_name, b"held")
    [delivery] = receive_count(lambda: broker.receive(unique_name, 1, wait=5), 1, ack=False)
    with pytest.raises(UnsupportedSemantic, match="visibility_changes"):
        delivery.change_visibility(10)
    assert delivery.ack() is True


def test_release_queue_hands_unsettled_messages_to_other_consumers(
    connect_broker, unique_name: str
):
    holder, other = connect_broker(), connect_broker()
    holder.declare_queue(unique_name)
    other.declare_queue(unique_name)
    sent = holder.send(unique_name, b"left on the counter")
    [held] = receive_count(lambda: holder.receive(unique_name, 1, wait=2), 1, ack=False)
    holder.release_queue(unique_name)
    holder.release_queue(unique_name)  # idempotent
    [taken] = receive_count(lambda: other.receive(unique_name, 1, wait=2), 1, ack=False)
    assert taken.message.id == sent
    assert taken.ack() is True
    held.ack()  # too late: does nothing at the broker
    assert other.receive(unique_name, 1, wait=1) == []


def test_a_released_queue_is_received_from_again(broker: Broker, unique_name: str):
    broker.declare_queue(unique_name)
    broker.send(unique_name, b"one")
    [first] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1)
    broker.release_queue(unique_name)
    broker.send(unique_name, b"two")
    [second] = receive_count(lambda: broker.receive(unique_name, 1, wait=2), 1)
    assert (first.message.body, second.message.body) == (b"one", b"two")


def test_describe_queue_tells_another_process_how_a_queue_was_declared(
    connect_broker, unique_name: str
):
    worker, monitor = connect_broker(), connect_broker()
    assert monitor.describe_queue(unique_name) is None
    policy = RedrivePolicy(f"{unique_name}-dlq", 4)
    worker.declare_queue(f"{unique_name}-dlq")
    worker.declare_queue(unique_name, QueueConfig(redrive_policy=policy))
    described = monitor.describe_queue(unique_name)
    assert described is not None
    # Kafka keeps no redrive policy in the broker (each process applies its declaration).
    expected = None if monitor.features.name.startswith("kafka") else policy
    assert described.redrive_policy == expected
    monitor.declare_queue(unique_name, described)  # adopting it as declared does not clash
