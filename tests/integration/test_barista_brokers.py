"""The barista's work loop, in-process, against each real broker and a real Redis ledger."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from broker_adapters import Broker, connect
from broker_adapters.core import DEAD_LETTER_REASON
from services.barista import Barista, BaristaSettings
from services.ledger import Ledger, OrderState
from services.messaging import declare_orders
from services.orders import Customer, Order, OrderEvent, OrderItem
from tests.support.brokers import Endpoint
from tests.support.receiving import receive_count, wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def settings(endpoint: Endpoint, redis_server: Endpoint, unique_name: str) -> BaristaSettings:
    return BaristaSettings(
        broker_url=endpoint.url,
        ledger_url=redis_server.url,
        orders_queue=f"{unique_name}-orders",
        dead_letter_queue=f"{unique_name}-dlq",
        events_topic=f"{unique_name}-events",
        max_receive_count=3,
        visibility_timeout=5,
        brew_seconds_per_unit=0.05,
        stop_grace=0.5,
        ledger_namespace=f"test:{unique_name}",
        name="barista-test",
    )


@pytest.fixture
def shop(settings: BaristaSettings) -> Iterator[tuple[Broker, Ledger]]:
    broker = connect(settings.broker_url)
    declare_orders(
        broker,
        settings.orders_queue,
        settings.dead_letter_queue,
        settings.max_receive_count,
        settings.visibility_timeout,
    )
    yield broker, Ledger.from_url(settings.ledger_url, settings.ledger_namespace)
    broker.close()


def an_order(cups: int = 1) -> Order:
    return Order(
        customer=Customer(id="c-1", name="Ada"),
        items=[OrderItem(item="flat-white", quantity=cups)],
        order_id=f"o-{datetime.now(UTC).timestamp()}",
        accepted_at=datetime.now(UTC),
    )


@pytest.fixture
def on_shift(settings: BaristaSettings) -> Iterator[Barista]:
    stopping = threading.Event()
    broker = connect(settings.broker_url)
    declare_orders(
        broker,
        settings.orders_queue,
        settings.dead_letter_queue,
        settings.max_receive_count,
        settings.visibility_timeout,
    )
    barista = Barista(
        settings, broker, Ledger.from_url(settings.ledger_url, settings.ledger_namespace), stopping
    )
    thread = threading.Thread(target=barista.run, daemon=True)
    thread.start()
    yield barista
    stopping.set()
    thread.join(30)
    assert not thread.is_alive(), "the barista did not leave its shift"
    broker.close()


def test_an_order_is_brewed_once_and_announced(
    settings: BaristaSettings, shop: tuple[Broker, Ledger], on_shift: Barista
):
    broker, ledger = shop
    announcements = broker.subscribe(settings.events_topic, "kitchen-display")
    order = an_order(cups=2)
    ledger.accepted(order.order_id)
    broker.send(settings.orders_queue, order.model_dump_json().encode(), group_id="c-1")
    [event] = receive_count(lambda: announcements.receive(1, wait=1), 1, timeout=60)
    ready = OrderEvent.model_validate_json(event.message.body)
    assert (ready.kind, ready.order_id, ready.cups, ready.barista) == (
        "order-ready",
        order.order_id,
        2,
        "barista-test",
    )
    assert wait_for(lambda: ledger.state(order.order_id) is OrderState.BREWED)
    assert ledger.brews(order.order_id) == 1


def test_a_redelivered_order_that_was_brewed_is_not_brewed_again(
    settings: BaristaSettings, shop: tuple[Broker, Ledger], on_shift: Barista
):
    broker, ledger = shop
    order = an_order()
    ledger.accepted(order.order_id)
    ledger.brewed(order.order_id)  # brewed before a crash that lost the ack
    broker.send(settings.orders_queue, order.model_dump_json().encode())
    assert wait_for(lambda: broker.backlog(settings.orders_queue).total == 0, timeout=60)
    assert ledger.brews(order.order_id) == 1


def test_a_poison_order_ends_in_the_dead_letter_queue_with_its_reason(
    settings: BaristaSettings, shop: tuple[Broker, Ledger], on_shift: Barista
):
    broker, ledger = shop
    ledger.accepted("o-poison")
    broker.send(settings.orders_queue, b'{"order_id": "o-poison", "items": "all of them"}')
    healthy = an_order()
    ledger.accepted(healthy.order_id)
    broker.send(settings.orders_queue, healthy.model_dump_json().encode())
    [letter] = receive_count(
        lambda: broker.receive(settings.dead_letter_queue, 1, wait=1), 1, timeout=90
    )
    assert letter.message.headers[DEAD_LETTER_REASON].startswith("invalid order: ")
    assert wait_for(lambda: ledger.state("o-poison") is OrderState.DEAD_LETTERED)
    assert wait_for(lambda: ledger.state(healthy.order_id) is OrderState.BREWED)
