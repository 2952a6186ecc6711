"""What a crash of a consumer or of the broker itself does to messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from broker_adapters import Broker, BrokerUnavailable, QueueConfig, connect
from tests.contract.conftest import require
from tests.support.brokers import Endpoint, start_backend
from tests.support.containers import REPO_DIR, Credentials
from tests.support.receiving import receive_until

# Long enough for the crashing consumer to gather its three messages before the first one's
# visibility runs out: a new Kafka share consumer needs a few seconds to get its partitions.
CRASH_VISIBILITY = 8


def test_messages_held_by_a_killed_consumer_are_delivered_again(
    broker: Broker, endpoint: Endpoint, unique_name: str
):
    require(broker, "shared_between_processes")  # the consumer is another process
    broker.declare_queue(unique_name, QueueConfig(visibility_timeout=CRASH_VISIBILITY))
    sent = [broker.send(unique_name, f"cup {n}".encode()) for n in range(3)]
    crashing = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.contract.crash_consumer",
            endpoint.url,
            unique_name,
            "3",
            str(CRASH_VISIBILITY),
        ],
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        held = json.loads(crashing.stdout.readline() or "[]")  # type: ignore[union-attr]
        assert sorted(held) == sorted(sent), "the crashing consumer should hold every message"
    finally:
        os.kill(crashing.pid, signal.SIGKILL)
        crashing.wait(10)
    again = receive_until(
        lambda: broker.receive(unique_name, 10, wait=1), lambda got: len(got) >= 3, timeout=90
    )
    assert sorted(d.message.id for d in again) == sorted(sent)
    if broker.features.counts_crash_redeliveries:
        assert {d.message.attempt for d in again} == {2}


@pytest.fixture
def own_broker(backend: str, broker: Broker) -> Iterator[Endpoint]:
    """A broker of the test's own, since the test restarts it (only a broker that runs apart
    from its clients can restart under them)."""
    require(broker, "shared_between_processes")
    endpoint = start_backend(backend, Credentials.generate(f"restart-{backend}"))
    try:
        yield endpoint
    finally:
        endpoint.container.stop()


# Kafka's share-group mode restarts the same broker as its consumer-group mode (41 s in CI):
# every backend under make test-matrix.
@pytest.mark.matrix(ci=("kafka", "rabbitmq", "redis", "memory"))
def test_a_broker_restart_mid_stream_loses_no_confirmed_message(
    own_broker: Endpoint, unique_name: str
):
    producer, consumer = connect(own_broker.url), connect(own_broker.url)
    confirmed: list[str] = []
    unconfirmed = 0
    received: Counter[str] = Counter()
    stop_producing = threading.Event()
    try:
        for side in (producer, consumer):
            side.declare_queue(unique_name)

        def produce() -> None:
            nonlocal unconfirmed
            n = 0
            while not stop_producing.is_set():
                try:
                    confirmed.append(producer.send(unique_name, f"cup {n}".encode()))
                except BrokerUnavailable:
                    unconfirmed += 1
                n += 1
                time.sleep(0.01)

        thread = threading.Thread(target=produce, daemon=True)
        thread.start()
        _drain(consumer, unique_name, received, until=lambda: len(confirmed) >= 30)
        own_broker.container.get_wrapped_container().restart(timeout=10)
        _drain(consumer, unique_name, received, until=lambda: len(confirmed) >= 90)
        stop_producing.set()
        thread.join(60)
        _drain(consumer, unique_name, received, until=lambda: set(confirmed) <= set(received))
    finally:
        stop_producing.set()
        producer.close()
        consumer.close()
    missing = set(confirmed) - set(received)
    duplicates = sum(count - 1 for count in received.values())
    print(f"confirmed={len(confirmed)} unconfirmed={unconfirmed} duplicates={duplicates}")
    assert not missing, f"{len(missing)} confirmed messages lost"


def _drain(
    consumer: Broker, queue: str, received: Counter[str], until, timeout: float = 90
) -> None:
    """Receive and ack until ``until()``; errors while the broker restarts are ridden out."""
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        try:
            deliveries = consumer.receive(queue, 10, wait=0.5)
        except BrokerUnavailable:
            continue
        for delivery in deliveries:
            received[delivery.message.id] += 1
            delivery.ack()
    assert until(), "condition not reached before the deadline"
