"""Kafka queues on share groups (KIP-932): what consumer groups cannot do.

Five consumers of a share-group queue hold messages at the same time (a consumer group gives
at most one consumer per partition, 3), and a consumer SIGKILLed mid-message hands it to another,
counted as the second attempt by the broker: as soon as the broker sees the dead consumer's
connection close (its share session ends), at the latest when the lock (the visibility
timeout) expires.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from broker_adapters import Broker, QueueConfig, connect
from broker_adapters.kafka import KafkaConfig
from tests.support.brokers import Endpoint, in_mode
from tests.support.containers import REPO_DIR
from tests.support.receiving import receive_until

pytestmark = pytest.mark.docker

CONSUMERS = 5


@pytest.fixture
def share_endpoint(kafka: Endpoint) -> Endpoint:
    return in_mode(kafka, "kafka-share")


@pytest.fixture
def open_broker(share_endpoint: Endpoint) -> Iterator[Callable[[], Broker]]:
    opened: list[Broker] = []

    def open_one() -> Broker:
        broker = connect(share_endpoint.url)
        opened.append(broker)
        return broker

    yield open_one
    for broker in reversed(opened):
        broker.close()


def test_five_consumers_of_a_share_group_queue_hold_messages_at_once(
    open_broker: Callable[[], Broker], unique_name: str
):
    producer = open_broker()
    # More consumers than a consumer-group queue's partitions, each holding a message.
    assert KafkaConfig().partitions < CONSUMERS
    # A share fetch acquires whole producer batches (at most about 10 records, the share
    # producer's batch bound), so the first consumers may hold more than they were handed
    # until the lock expires: keep it short.
    config = QueueConfig(visibility_timeout=10)
    producer.declare_queue(unique_name, config)
    # One send per order, as the order API sends them: a share fetch acquires whole producer
    # batches, so one batch of 20 could land, locked, with one or two consumers.
    for n in range(20):
        producer.send(unique_name, f"cup {n}".encode())
    holders: set[int] = set()
    lock = threading.Lock()
    everyone_holds = threading.Event()
    errors: list[BaseException] = []

    def consume(index: int) -> None:
        try:
            broker = open_broker()
            broker.declare_queue(unique_name, config)
            deadline = time.monotonic() + 90
            held = []
            while not held and time.monotonic() < deadline:
                held = broker.receive(unique_name, 1, wait=1)
            if not held:
                return
            with lock:
                holders.add(index)
                if len(holders) == CONSUMERS:
                    everyone_holds.set()
            everyone_holds.wait(max(deadline - time.monotonic(), 0))
            for delivery in held:
                delivery.ack()
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(CONSUMERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert everyone_holds.is_set(), f"only {len(holders)} of {CONSUMERS} held a message at once"
    print(f"{CONSUMERS} consumers held a message at once after {time.monotonic() - started:.1f} s")


def test_a_consumer_killed_mid_message_hands_it_to_another_counted_as_attempt_2(
    open_broker: Callable[[], Broker], share_endpoint: Endpoint, unique_name: str
):
    visibility = 6.0
    survivor = open_broker()
    survivor.declare_queue(unique_name, QueueConfig(visibility_timeout=visibility))
    sent = survivor.send(unique_name, b"flat white")
    crashing = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.contract.crash_consumer",
            share_endpoint.url,
            unique_name,
            "1",
            str(visibility),
        ],
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        held = json.loads(crashing.stdout.readline() or "[]")  # type: ignore[union-attr]
        taken_at = time.monotonic()
        assert held == [sent], "the crashing consumer should hold the message"
    finally:
        os.kill(crashing.pid, signal.SIGKILL)
        crashing.wait(10)
    killed_at = time.monotonic()
    [again] = receive_until(
        lambda: survivor.receive(unique_name, 1, wait=1), lambda got: len(got) >= 1, timeout=60
    )
    back_at = time.monotonic()
    assert (again.message.id, again.message.attempt) == (sent, 2)
    print(
        f"redelivered {back_at - killed_at:.1f} s after the SIGKILL, "
        f"{back_at - taken_at:.1f} s after it was taken (lock {visibility:.0f} s)"
    )


def test_an_expired_deliverys_nack_does_not_hand_back_the_records_next_delivery(
    open_broker: Callable[[], Broker], unique_name: str
):
    """An SQS receipt outliving its visibility timeout: the record came back (here, to the same
    share consumer) and handing back the old receipt must leave the new delivery held."""
    broker = open_broker()
    broker.declare_queue(unique_name, QueueConfig(visibility_timeout=2))
    broker.send(unique_name, b"cup")
    [first] = receive_until(lambda: broker.receive(unique_name, 1, wait=1), bool, ack=False)
    [second] = receive_until(lambda: broker.receive(unique_name, 1, wait=1), bool, ack=False)
    assert (first.message.attempt, second.message.attempt) == (1, 2)
    first.nack()
    assert broker.receive(unique_name, 1, wait=1) == [], "the second delivery still holds it"
    assert second.ack() is True
    assert broker.receive(unique_name, 1, wait=3) == [], "settled by the second delivery's ack"
