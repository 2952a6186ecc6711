"""The three subscribers on each real broker: every subscription receives every order event.

In-process first (three subscriber loops on threads, as three containers would run them),
then ``barista serve subscriber`` as a process, to see its side door and its SIGTERM exit.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from broker_adapters import connect
from services.messaging import open_broker
from services.orders import EventKind, OrderEvent
from services.subscriber.consumer import Subscriber, Target
from services.subscriber.roles import KitchenDisplay, Loyalty, Notifier
from tests.support.brokers import Endpoint
from tests.support.containers import LOOPBACK, free_loopback_port
from tests.support.processes import service_environment, serving, stop_gracefully
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

ROLES = ("kitchen-display", "loyalty", "notifier")


@pytest.fixture
def topic(endpoint: Endpoint, unique_name: str) -> Iterator[str]:
    """A fresh events topic; its durable subscriptions are deleted afterwards."""
    name = f"{unique_name}-events"
    yield name
    with connect(endpoint.url) as broker:
        for subscription in ROLES:
            broker.delete_subscription(name, subscription)


def order_event(kind: EventKind, order_id: str, customer_id: str, cups: int) -> OrderEvent:
    now = datetime.now(UTC)
    barista = "barista-1" if kind is EventKind.READY else None
    return OrderEvent(
        kind=kind,
        order_id=order_id,
        customer_id=customer_id,
        cups=cups,
        at=now,
        accepted_at=now,
        barista=barista,
    )


# Five events: three orders placed, two of them ready.
EVENTS = [
    (EventKind.PLACED, "o1", "ada", 2),
    (EventKind.PLACED, "o2", "alan", 1),
    (EventKind.PLACED, "o3", "ada", 3),
    (EventKind.READY, "o1", "ada", 2),
    (EventKind.READY, "o2", "alan", 1),
]


def publish_events(url: str, topic: str) -> None:
    with connect(url) as publisher:
        for kind, order_id, customer_id, cups in EVENTS:
            body = order_event(kind, order_id, customer_id, cups).model_dump_json().encode()
            publisher.publish(topic, body)


def test_every_subscriber_handles_every_event_and_stops_promptly(endpoint: Endpoint, topic: str):
    kitchen, loyalty, notifier = KitchenDisplay(), Loyalty(), Notifier()
    subscribers = [
        Subscriber(Target(endpoint.url, topic, name, broker_timeout=10), role, open_broker)
        for name, role in zip(ROLES, (kitchen, loyalty, notifier), strict=True)
    ]
    stopping = threading.Event()
    threads = [
        threading.Thread(target=s.run, args=(stopping,), name=s.target.subscription, daemon=True)
        for s in subscribers
    ]
    try:
        for thread in threads:
            thread.start()
        assert wait_for(lambda: all(s.ready() for s in subscribers), timeout=60)
        publish_events(endpoint.url, topic)
        with connect(endpoint.url) as publisher:
            publisher.publish(topic, b"this is not an order event")
        assert wait_for(
            lambda: all(s.stats.handled + s.stats.unparseable >= 6 for s in subscribers),
            timeout=30,
        ), [vars(s.stats) for s in subscribers]
    finally:
        stopping.set()
        began = time.monotonic()
        for thread in threads:
            thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert time.monotonic() - began < 10

    for subscriber in subscribers:
        assert (subscriber.stats.handled, subscriber.stats.unparseable) == (5, 1)
    assert {(e.order_id, e.status) for e in kitchen.board()} == {
        ("o1", "ready"),
        ("o2", "ready"),
        ("o3", "placed"),
    }
    assert loyalty.points() == {"ada": 2, "alan": 1}
    assert sorted(notifier.notified()) == ["o1", "o2"]

    # Acks reached the broker: the durable subscription holds nothing more for its next reader.
    with connect(endpoint.url) as broker, broker.subscribe(topic, "loyalty") as again:
        assert again.receive(10, wait=2) == []


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def answers(url: str) -> bool:
    try:
        get_json(url)
    except OSError:
        return False
    return True


def test_barista_serve_subscriber_shows_its_board_and_exits_0_on_sigterm(
    endpoint: Endpoint, topic: str
):
    port = free_loopback_port()
    env = service_environment(
        broker_url=endpoint.url, subscription="kitchen-display", events_topic=topic, port=str(port)
    )
    side_door = f"http://{LOOPBACK}:{port}"
    with serving("subscriber", env) as process:
        assert wait_for(lambda: answers(f"{side_door}/readyz"), timeout=60), process.poll()
        publish_events(endpoint.url, topic)
        assert wait_for(lambda: len(get_json(f"{side_door}/board")["orders"]) == 3, timeout=30)
        board = get_json(f"{side_door}/board")["orders"]
        assert [o["order_id"] for o in board] == ["o3", "o2", "o1"]
        metrics = urllib.request.urlopen(f"{side_door}/metrics", timeout=5).read().decode()
        assert 'kind="order-ready",subscription="kitchen-display"} 2.0' in metrics
        stopped = stop_gracefully(process, timeout=10)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.seconds < 10
    [exiting] = stopped.messages("exiting")
    assert exiting["stats"]["handled"] == 5
