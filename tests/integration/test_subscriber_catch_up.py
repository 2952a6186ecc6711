"""Durable against fire-and-forget on a real broker, as the demo's loyalty and analytics
subscribers live it: both stop, events are published while they are away, both start again.
Loyalty (a durable subscription) receives what it missed and its points add up; analytics
(fire-and-forget) receives only what was published after it came back.

Each subscriber runs as its container would (``Subscriber`` with the demo's role, on a thread),
and a restart is a new one with fresh state under the same subscription name, as a new
process. Per backend, since each realises the two kinds differently; the default run keeps
RabbitMQ's (the demo's default broker), ``make test-matrix`` runs every backend.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from broker_adapters import connect
from services.messaging import open_broker
from services.orders import EventKind
from services.subscriber.consumer import Subscriber, Target
from services.subscriber.roles import Loyalty, Tally
from tests.integration.test_subscribers_brokers import order_event
from tests.support.brokers import Endpoint
from tests.support.receiving import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.matrix(ci="rabbitmq")]

READY = EventKind.READY


@pytest.fixture
def topic(endpoint: Endpoint, unique_name: str) -> Iterator[str]:
    name = f"{unique_name}-events"
    yield name
    with connect(endpoint.url) as broker:
        broker.delete_subscription(name, "loyalty")


@dataclass
class Running:
    subscriber: Subscriber
    stopping: threading.Event
    thread: threading.Thread

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), f"{self.subscriber.target.subscription} did not stop"


def start(url: str, topic: str, name: str, durable: bool, role: Loyalty | Tally) -> Running:
    subscriber = Subscriber(Target(url, topic, name, durable, broker_timeout=10), role, open_broker)
    stopping = threading.Event()
    thread = threading.Thread(target=subscriber.run, args=(stopping,), name=name, daemon=True)
    thread.start()
    return Running(subscriber, stopping, thread)


def publish(url: str, topic: str, orders: list[tuple[str, str, int]]) -> None:
    with connect(url) as publisher:
        for order_id, customer, cups in orders:
            publisher.publish(
                topic, order_event(READY, order_id, customer, cups).model_dump_json().encode()
            )


BEFORE = [("o1", "ada", 2), ("o2", "alan", 1)]
WHILE_AWAY = [("o3", "ada", 1), ("o4", "grace", 2), ("o5", "alan", 1)]
AFTER = [("o6", "ada", 1)]
LAST = [("o7", "grace", 1)]


def test_loyalty_catches_up_after_a_stop_while_analytics_misses_what_it_was_away_for(
    endpoint: Endpoint, topic: str
):
    url = endpoint.url
    running = [
        start(url, topic, "loyalty", True, Loyalty()),
        start(url, topic, "analytics", False, Tally()),
    ]
    try:
        assert wait_for(lambda: all(r.subscriber.ready() for r in running), timeout=60)
        publish(url, topic, BEFORE)
        assert wait_for(
            lambda: all(r.subscriber.stats.handled == 2 for r in running), timeout=30
        ), [vars(r.subscriber.stats) for r in running]
    finally:
        for r in running:
            r.stop()

    publish(url, topic, WHILE_AWAY)

    loyalty, analytics = Loyalty(), Tally()
    running = [
        start(url, topic, "loyalty", True, loyalty),
        start(url, topic, "analytics", False, analytics),
    ]
    back_loyalty, back_analytics = (r.subscriber for r in running)
    try:
        assert wait_for(lambda: all(r.subscriber.ready() for r in running), timeout=60)
        publish(url, topic, AFTER)
        # Loyalty gets the three it missed and the one after; the last event, published after
        # all of them, tells when analytics has had every chance to see anything older.
        assert wait_for(lambda: back_loyalty.stats.handled >= 4, timeout=60), vars(
            back_loyalty.stats
        )
        publish(url, topic, LAST)
        assert wait_for(
            lambda: back_loyalty.stats.handled >= 5 and back_analytics.stats.handled >= 2,
            timeout=60,
        ), [vars(back_loyalty.stats), vars(back_analytics.stats)]
    finally:
        for r in running:
            r.stop()

    # The durable subscription kept what was published while loyalty was stopped.
    assert loyalty.points() == {"ada": 2, "grace": 3, "alan": 1}
    assert back_loyalty.stats.events == {"order-ready": 5}
    # Fire-and-forget: nothing from while analytics was away, only what came after.
    assert analytics.counts() == {"order-ready": 2}
    assert back_analytics.stats.events == {"order-ready": 2}
