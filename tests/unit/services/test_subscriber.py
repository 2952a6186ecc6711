"""The subscriber's roles with hand-made events, and its loop over a fake subscription."""

from __future__ import annotations

import logging
import threading
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
    FakeBroker,
    FakeDelivery,
    FakeSubscription,
    delivery_of,
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


def test_a_valid_event_is_handled_counted_and_acked():
    kitchen, stats = KitchenDisplay(), ConsumerStats()
    before = events_received("unit-kitchen", "order-placed")
    delivery = delivery_of(event(PLACED, "o1"))
    handle_delivery(delivery, kitchen, "unit-kitchen", stats)
    assert delivery.outcome is Outcome.ACKED
    assert [e.order_id for e in kitchen.board()] == ["o1"]
    assert stats == ConsumerStats(handled=1)
    assert events_received("unit-kitchen", "order-placed") == before + 1


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"kind": "order-spilled"}', b"\xff\xfe", b'{"kind": "order-placed"}'],
)
def test_an_unparseable_event_is_logged_counted_and_acked(body, caplog):
    kitchen, stats = KitchenDisplay(), ConsumerStats()
    before = events_received("unit-kitchen", "unparseable")
    delivery = FakeDelivery(body, "m-bad")
    handle_delivery(delivery, kitchen, "unit-kitchen", stats)
    assert delivery.outcome is Outcome.ACKED
    assert kitchen.board() == []
    assert stats == ConsumerStats(unparseable=1)
    assert events_received("unit-kitchen", "unparseable") == before + 1
    [record] = [r for r in caplog.records if "unparseable" in r.getMessage()]
    assert record.message_id == "m-bad"


def test_a_role_that_raises_does_not_stop_the_subscription(caplog):
    class Broken(Tally):
        def handle(self, _event):
            raise RuntimeError("bug")

    stats = ConsumerStats()
    delivery = delivery_of(event(READY, "o1"))
    handle_delivery(delivery, Broken(), "unit-broken", stats)
    assert delivery.outcome is Outcome.ACKED
    assert stats == ConsumerStats(failed=1)
    assert any(r.exc_info for r in caplog.records)


def test_consume_handles_every_batch_until_stopped():
    loyalty, stats, stopping = Loyalty(), ConsumerStats(), threading.Event()
    batches = [
        [delivery_of(event(READY, f"o{n}", customer_id="ada", cups=1)) for n in range(3)],
        [delivery_of(event(READY, "o3", customer_id="alan", cups=2))],
    ]
    subscription = FakeSubscription(batches, name="loyalty")
    subscription.on_receive = lambda n: stopping.set() if n > 3 else None
    consume(subscription, loyalty, stopping, stats)
    assert loyalty.points() == {"ada": 3, "alan": 2}
    assert stats.handled == 4
    assert all(d.outcome is Outcome.ACKED for batch in batches for d in batch)


def test_on_stop_the_event_in_hand_is_acked_and_the_rest_of_the_batch_handed_back():
    stopping = threading.Event()

    class StopAfterFirst(Tally):
        def handle(self, order_event):
            super().handle(order_event)
            stopping.set()

    batch = [delivery_of(event(PLACED, f"o{n}")) for n in range(3)]
    consume(FakeSubscription([batch]), StopAfterFirst(), stopping, ConsumerStats())
    assert [d.outcome for d in batch] == [Outcome.ACKED, Outcome.PENDING, Outcome.PENDING]


def target(**overrides) -> Target:
    return Target(
        **({"broker_url": "fake://", "topic": "t", "subscription": "loyalty"} | overrides)
    )


def test_subscriber_subscribes_consumes_and_closes_everything_on_stop():
    stopping = threading.Event()
    subscription = FakeSubscription([[delivery_of(event(READY, "o1", customer_id="ada"))]])
    broker = FakeBroker(subscription)
    connected = []

    def connect(url, timeout):
        connected.append((url, timeout))
        return broker

    subscriber = Subscriber(target(durable=False, broker_timeout=7), Loyalty(), connect)
    subscription.on_receive = lambda n: stopping.set() if n > 1 else None
    assert not subscriber.ready()
    subscriber.run(stopping)
    assert connected == [("fake://", 7)]
    assert broker.subscribed_with == ("t", "loyalty", False)
    assert subscriber.stats.handled == 1
    assert subscription.closed.is_set()
    assert broker.closed
    assert not subscriber.ready()


def test_subscriber_is_ready_only_while_subscribed():
    stopping = threading.Event()
    subscription = FakeSubscription([])
    seen = []
    subscriber = Subscriber(target(), Tally(), lambda _url, _t: FakeBroker(subscription))
    subscription.on_receive = lambda _n: (seen.append(subscriber.ready()), stopping.set())
    subscriber.run(stopping)
    assert seen == [True]


def test_subscriber_reconnects_after_the_broker_is_lost(monkeypatch):
    monkeypatch.setattr(consumer_module, "RECONNECT_BACKOFF", (0.01,))
    stopping = threading.Event()
    first = FakeSubscription([])
    first.on_receive = lambda _n: (_ for _ in ()).throw(BrokerUnavailable("gone"))
    second = FakeSubscription([[delivery_of(event(READY, "o1"))]])
    second.on_receive = lambda n: stopping.set() if n > 1 else None
    brokers = [FakeBroker(first), FakeBroker(second)]
    subscriber = Subscriber(target(), Tally(), lambda _url, _t: brokers.pop(0))
    subscriber.run(stopping)
    assert first.closed.is_set()
    assert second.closed.is_set()
    assert subscriber.stats.handled == 1


def test_subscriber_keeps_retrying_an_unreachable_broker_until_stopped(monkeypatch):
    monkeypatch.setattr(consumer_module, "RECONNECT_BACKOFF", (0.01,))
    stopping = threading.Event()
    attempts = []

    def unreachable(url, timeout):
        attempts.append(url)
        if len(attempts) == 3:
            stopping.set()
        raise BrokerUnavailable("connection refused")

    Subscriber(target(), Tally(), unreachable).run(stopping)
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
