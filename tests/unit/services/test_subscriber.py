"""The subscriber's roles with hand-made events, and its loop over a memory:// topic."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.testclient import TestClient

import services.subscriber
from broker_adapters import BrokerUnavailable, Outcome
from services.orders import EventKind
from services.settings import load
from services.subscriber import SubscriberSettings
from services.subscriber import consumer as consumer_module
from services.subscriber.consumer import (
    ConsumerStats,
    Subscriber,
    Target,
    consume,
    handle_delivery,
)
from services.subscriber.roles import KitchenDisplay, Loyalty, Notifier, Tally, role_for
from tests.unit.services.fakes_subscriber import (
    AT,
    TOPIC,
    EventTopic,
    ScriptedBroker,
    broker_lost,
    event,
)

PLACED, READY = EventKind.PLACED, EventKind.READY


def get_json(role, path: str):
    return TestClient(Starlette(routes=role.routes())).get(path).json()


def events_received(subscription: str, kind: str) -> float:
    labels = {"subscription": subscription, "kind": kind}
    return REGISTRY.get_sample_value("barista_events_received_total", labels) or 0.0


def test_kitchen_display_shows_an_order_placed_then_ready():
    kitchen = KitchenDisplay()
    kitchen.handle(event(PLACED, "o1", cups=2))
    assert [(e.order_id, e.status) for e in kitchen.board()] == [("o1", "placed")]
    kitchen.handle(event(READY, "o1", cups=2, barista="b-1", at=AT + timedelta(seconds=30)))
    [entry] = kitchen.board()
    assert (entry.status, entry.placed_at, entry.barista) == ("ready", AT, "b-1")
    assert entry.ready_at == AT + timedelta(seconds=30)


def test_kitchen_display_keeps_ready_when_placed_arrives_late_or_twice():
    kitchen = KitchenDisplay()
    kitchen.handle(event(READY, "o1"))
    kitchen.handle(event(PLACED, "o1"))
    kitchen.handle(event(PLACED, "o1"))
    [entry] = kitchen.board()
    assert entry.status == "ready"
    assert entry.placed_at == AT


def test_kitchen_display_keeps_the_last_20_orders_newest_first():
    kitchen = KitchenDisplay()
    for n in range(25):
        kitchen.handle(event(PLACED, f"o{n}"))
    kitchen.handle(event(READY, "o9"))  # still on the board: keeps its place
    kitchen.handle(event(READY, "o2"))  # already off the board: shown again, as newest
    board = [e.order_id for e in kitchen.board()]
    assert board == ["o2", *(f"o{n}" for n in range(24, 5, -1))]
    assert len(board) == 20


def test_kitchen_display_board_route_serves_json():
    kitchen = KitchenDisplay()
    kitchen.handle(event(PLACED, "o1", customer_id="ada", cups=3))
    body = get_json(kitchen, "/board")
    assert body == {
        "orders": [
            {
                "order_id": "o1",
                "customer_id": "ada",
                "cups": 3,
                "status": "placed",
                "placed_at": AT.isoformat(),
                "ready_at": None,
                "barista": None,
            }
        ]
    }


def test_loyalty_counts_cups_per_customer_once_per_ready_order():
    loyalty = Loyalty()
    loyalty.handle(event(PLACED, "o1", customer_id="ada", cups=2))
    loyalty.handle(event(READY, "o1", customer_id="ada", cups=2))
    loyalty.handle(event(READY, "o1", customer_id="ada", cups=2))  # redelivered
    loyalty.handle(event(READY, "o2", customer_id="ada", cups=1))
    loyalty.handle(event(READY, "o3", customer_id="alan", cups=4))
    assert loyalty.points() == {"ada": 3, "alan": 4}
    assert get_json(loyalty, "/points") == {"customers": {"alan": 4, "ada": 3}, "total_cups": 7}


def test_loyalty_forgets_the_oldest_order_ids_beyond_its_memory():
    loyalty = Loyalty(remembered=2)
    for order_id in ("o1", "o2", "o3", "o1"):
        loyalty.handle(event(READY, order_id, customer_id="ada"))
    assert loyalty.points() == {"ada": 4}  # o1 was forgotten, so its repeat counted


def test_notifier_logs_one_line_per_ready_order(caplog):
    notifier = Notifier()
    caplog.set_level(logging.INFO, logger="services.subscriber.roles")
    notifier.handle(event(PLACED, "o1", customer_id="ada"))
    notifier.handle(event(READY, "o1", customer_id="ada", cups=2))
    [record] = caplog.records
    assert record.getMessage() == "order ready for ada"
    assert (record.order_id, record.cups) == ("o1", 2)
    assert notifier.notified() == ["o1"]


def test_other_subscriptions_tally_events_by_kind():
    tally = Tally()
    for kind in (PLACED, PLACED, READY):
        tally.handle(event(kind, "o1"))
    assert tally.counts() == {"order-placed": 2, "order-ready": 1}
    assert get_json(tally, "/events") == {"events": {"order-placed": 2, "order-ready": 1}}


def test_the_subscription_name_picks_the_role():
    assert isinstance(role_for("kitchen-display"), KitchenDisplay)
    assert isinstance(role_for("loyalty"), Loyalty)
    assert isinstance(role_for("notifier"), Notifier)
    assert isinstance(role_for("audit"), Tally)


@pytest.fixture
def topic() -> Iterator[EventTopic]:
    opened = EventTopic()
    yield opened
    opened.close()


@pytest.fixture
def no_long_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Receives answer at once: a test's script publishes each event before the receive that
    should get it, so a long poll would only hold up the last receive, the one after the stop,
    by ``RECEIVE_WAIT``."""
    monkeypatch.setattr(consumer_module, "RECEIVE_WAIT", 0.0)


def test_a_valid_event_is_handled_counted_and_acked(topic: EventTopic):
    kitchen, stats = KitchenDisplay(), ConsumerStats()
    before = events_received("unit-kitchen", "order-placed")
    delivery = topic.delivery_of(event(PLACED, "o1"))
    handle_delivery(delivery, kitchen, "unit-kitchen", stats)
    assert delivery.outcome is Outcome.ACKED
    assert [e.order_id for e in kitchen.board()] == ["o1"]
    assert stats == ConsumerStats(handled=1, events={"order-placed": 1})
    assert events_received("unit-kitchen", "order-placed") == before + 1


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"kind": "order-spilled"}', b"\xff\xfe", b'{"kind": "order-placed"}'],
)
def test_an_unparseable_event_is_logged_counted_and_acked(body, caplog, topic: EventTopic):
    kitchen, stats = KitchenDisplay(), ConsumerStats()
    before = events_received("unit-kitchen", "unparseable")
    subscription = topic.subscribe()
    message_id = topic.publish_body(body)
    (delivery,) = subscription.receive()
    handle_delivery(delivery, kitchen, "unit-kitchen", stats)
    assert delivery.outcome is Outcome.ACKED
    assert kitchen.board() == []
    assert stats == ConsumerStats(unparseable=1, events={"unparseable": 1})
    assert events_received("unit-kitchen", "unparseable") == before + 1
    [record] = [r for r in caplog.records if "unparseable" in r.getMessage()]
    assert record.message_id == message_id


def test_a_role_that_raises_does_not_stop_the_subscription(caplog, topic: EventTopic):
    class Broken(Tally):
        def handle(self, _event):
            raise RuntimeError("bug")

    stats = ConsumerStats()
    delivery = topic.delivery_of(event(READY, "o1"))
    handle_delivery(delivery, Broken(), "unit-broken", stats)
    assert delivery.outcome is Outcome.ACKED
    assert stats == ConsumerStats(failed=1, events={"order-ready": 1})
    assert any(r.exc_info for r in caplog.records)


@pytest.mark.usefixtures("no_long_poll")
def test_consume_handles_every_batch_until_stopped(topic: EventTopic):
    loyalty, stats, stopping = Loyalty(), ConsumerStats(), threading.Event()
    later = event(READY, "o3", customer_id="alan", cups=2)
    subscription = topic.subscribe("loyalty", {2: lambda: topic.publish(later), 3: stopping.set})
    topic.publish(*(event(READY, f"o{n}", customer_id="ada", cups=1) for n in range(3)))
    consume(subscription, loyalty, stopping, stats)
    assert loyalty.points() == {"ada": 3, "alan": 2}
    assert stats.handled == 4
    assert [len(batch) for batch in subscription.received] == [3, 1, 0]
    assert all(d.outcome is Outcome.ACKED for batch in subscription.received for d in batch)
    subscription.close()
    assert topic.held("loyalty") == [], "every event acked: none is handed out again"


def test_on_stop_the_event_in_hand_is_acked_and_the_rest_of_the_batch_handed_back(
    topic: EventTopic,
):
    stopping = threading.Event()

    class StopAfterFirst(Tally):
        def handle(self, order_event):
            super().handle(order_event)
            stopping.set()

    subscription = topic.subscribe()
    topic.publish(*(event(PLACED, f"o{n}") for n in range(3)))
    consume(subscription, StopAfterFirst(), stopping, ConsumerStats())
    (batch,) = subscription.received
    assert [d.outcome for d in batch] == [Outcome.ACKED, Outcome.PENDING, Outcome.PENDING]
    subscription.close()
    assert topic.held("kitchen-display") == ["o1", "o2"], "kept for the next subscriber"


def target(topic: EventTopic, **overrides) -> Target:
    return Target(
        **({"broker_url": topic.url, "topic": TOPIC, "subscription": "loyalty"} | overrides)
    )


@pytest.mark.usefixtures("no_long_poll")
def test_subscriber_subscribes_consumes_and_closes_everything_on_stop(topic: EventTopic):
    stopping = threading.Event()
    # A fire-and-forget subscription gets only what is published once it exists: the event
    # goes out just before the first receive.
    script = {1: lambda: topic.publish(event(READY, "o1", customer_id="ada")), 2: stopping.set}
    connected, brokers = [], []

    def connect(url, timeout):
        connected.append((url, timeout))
        brokers.append(ScriptedBroker.connect(url, script))
        return brokers[-1]

    loyalty = Loyalty()
    subscriber = Subscriber(target(topic, durable=False, broker_timeout=7), loyalty, connect)
    assert not subscriber.ready()
    subscriber.run(stopping)
    assert connected == [(topic.url, 7)]
    (broker,) = brokers
    (subscription,) = broker.subscriptions
    assert (subscription.topic, subscription.name, subscription.durable) == (
        TOPIC,
        "loyalty",
        False,
    )
    assert subscriber.stats.handled == 1
    assert loyalty.points() == {"ada": 1}
    assert [d.outcome for batch in subscription.received for d in batch] == [Outcome.ACKED]
    assert subscription.closed
    assert broker.closed
    assert not subscriber.ready()


@pytest.mark.usefixtures("no_long_poll")
def test_subscriber_is_ready_only_while_subscribed(topic: EventTopic):
    stopping = threading.Event()
    seen = []

    def look_and_stop():
        seen.append(subscriber.ready())
        stopping.set()

    subscriber = Subscriber(
        target(topic), Tally(), lambda url, _t: ScriptedBroker.connect(url, {1: look_and_stop})
    )
    subscriber.run(stopping)
    assert seen == [True]


@pytest.mark.usefixtures("no_long_poll")
def test_subscriber_reconnects_after_the_broker_is_lost(monkeypatch, topic: EventTopic):
    monkeypatch.setattr(consumer_module, "RECONNECT_BACKOFF", (0.01,))
    stopping = threading.Event()

    def publish_then_lose_the_broker():
        topic.publish(event(READY, "o1"))
        broker_lost()

    scripts = [{1: publish_then_lose_the_broker}, {2: stopping.set}]
    brokers: list[ScriptedBroker] = []

    def connect(url, _timeout):
        brokers.append(ScriptedBroker.connect(url, scripts[len(brokers)]))
        return brokers[-1]

    tally = Tally()
    Subscriber(target(topic), tally, connect).run(stopping)
    first, second = brokers
    assert [s.closed for s in first.subscriptions] == [True]
    assert first.closed
    assert [s.closed for s in second.subscriptions] == [True]
    assert second.closed
    assert tally.counts() == {"order-ready": 1}, "the durable subscription kept it meanwhile"
    assert topic.held("loyalty") == []


def test_subscriber_keeps_retrying_an_unreachable_broker_until_stopped(
    monkeypatch, topic: EventTopic
):
    monkeypatch.setattr(consumer_module, "RECONNECT_BACKOFF", (0.01,))
    stopping = threading.Event()
    attempts = []

    def unreachable(url, timeout):
        attempts.append(url)
        if len(attempts) == 3:
            stopping.set()
        raise BrokerUnavailable("connection refused")

    Subscriber(target(topic), Tally(), unreachable).run(stopping)
    assert len(attempts) == 3


def test_settings_read_the_environment():
    settings = load(
        SubscriberSettings,
        {
            "BARISTA_BROKER_URL": "redis://r:6379/0",
            "BARISTA_SUBSCRIPTION": "kitchen-display",
            "BARISTA_DURABLE": "false",
        },
    )
    assert settings.target() == Target("redis://r:6379/0", "order-events", "kitchen-display", False)
    assert settings.port == 8080


def test_main_refuses_bad_settings_naming_the_variables(monkeypatch, capsys):
    monkeypatch.setattr(services.subscriber.logs, "configure", lambda _service: None)
    code = services.subscriber.main({"BARISTA_SUBSCRIPTION": "Kitchen Display"})
    assert code == 2
    err = capsys.readouterr().err
    assert "BARISTA_BROKER_URL: Field required" in err
    assert "BARISTA_SUBSCRIPTION" in err
