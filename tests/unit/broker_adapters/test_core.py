from __future__ import annotations

import threading

import pytest

from broker_adapters import (
    Backlog,
    Delivery,
    Message,
    Outcome,
    QueueConfig,
    RedrivePolicy,
    UnknownScheme,
    connect,
    features_of,
)
from broker_adapters.core import check_receive_arguments, check_send_arguments
from broker_adapters.kafka.broker import FEATURES, SHARE_FEATURES


class RecordingDelivery(Delivery):
    def __init__(self) -> None:
        super().__init__(Message(body=b"x", id="m-1", timestamp=1.0))
        self.settled: list[tuple] = []

    def _settle_ack(self) -> None:
        self.settled.append(("ack",))

    def _settle_nack(self, requeue: bool, delay: float, reason: str) -> Outcome:
        self.settled.append(("nack", requeue, delay, reason))
        return Outcome.REQUEUED if requeue else Outcome.DEAD_LETTERED


def test_the_first_outcome_wins_and_later_calls_say_they_did_nothing():
    delivery = RecordingDelivery()
    assert delivery.outcome is Outcome.PENDING
    assert delivery.ack() is True
    assert delivery.ack() is False
    assert delivery.nack() is False
    assert delivery.outcome is Outcome.ACKED
    assert delivery.settled == [("ack",)]


def test_nack_records_the_backend_outcome_and_a_default_reason():
    delivery = RecordingDelivery()
    assert delivery.nack(requeue=False) is True
    assert delivery.outcome is Outcome.DEAD_LETTERED
    assert delivery.settled == [("nack", False, 0.0, "nacked by the consumer")]
    assert delivery.ack() is False


def test_a_failed_settlement_leaves_the_delivery_pending():
    class Failing(RecordingDelivery):
        def _settle_ack(self) -> None:
            raise ConnectionError("broker gone")

    delivery = Failing()
    with pytest.raises(ConnectionError):
        delivery.ack()
    assert delivery.outcome is Outcome.PENDING


def test_concurrent_acks_settle_exactly_once():
    delivery = RecordingDelivery()
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(delivery.ack())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert delivery.settled == [("ack",)]


def test_nack_delay_outside_the_sqs_range_is_refused():
    with pytest.raises(ValueError, match=r"delay must be 0\.\.900"):
        RecordingDelivery().nack(delay=901)


@pytest.mark.parametrize(
    ("max_messages", "wait", "message"),
    [(0, 0, "max_messages must be 1..10"), (11, 0, "max_messages"), (1, 21, "wait must be 0..20")],
)
def test_receive_arguments_follow_sqs_limits(max_messages, wait, message):
    with pytest.raises(ValueError, match=message):
        check_receive_arguments(max_messages, wait)


def test_a_message_over_256_kib_is_refused():
    with pytest.raises(ValueError, match="limit is 262144"):
        check_send_arguments(b"x" * (256 * 1024 + 1), 0)


def test_queue_config_defaults_are_sqs_defaults():
    config = QueueConfig()
    assert (config.visibility_timeout, config.deduplication_window) == (30.0, 300.0)
    with pytest.raises(ValueError, match="visibility_timeout"):
        QueueConfig(visibility_timeout=43201)


def test_redrive_policy_validates_max_receive_count():
    assert RedrivePolicy("orders-dlq").max_receive_count == 10
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        RedrivePolicy("orders-dlq", 0)


def test_backlog_total_is_visible_plus_in_flight():
    assert Backlog(visible=3, in_flight=2, delayed=7).total == 5


def test_an_unknown_scheme_names_the_known_ones_and_the_closest():
    known = r"kafka://, amqp://, redis://, memory://; did you mean amqp://\?"
    with pytest.raises(UnknownScheme, match=known):
        connect("amqps://user:pw@localhost:5671/")


def test_a_url_without_a_scheme_is_refused():
    with pytest.raises(UnknownScheme, match="has no scheme: start it with one of kafka://"):
        connect("localhost:9092")


def test_features_of_a_url_follow_the_mode_it_chooses_without_connecting():
    kafka = "kafka://user:secret@127.0.0.1:1"  # nothing listens there: no connection is made
    assert features_of(kafka) == FEATURES
    assert features_of(f"{kafka}?queue_mode=consumer-group") == FEATURES
    assert features_of(f"{kafka}?queue_mode=share-group") == SHARE_FEATURES
    assert features_of("memory://x").name == "memory"
    with pytest.raises(UnknownScheme):
        features_of("nats://127.0.0.1")
