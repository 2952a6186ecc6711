"""The order API in-process against each real broker, with the ledger on real Redis: a 202
means the order is on the queue a barista reads, the order-placed event reached a
subscription that existed before the order, and the ledger knows the order."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from broker_adapters import Broker, Subscription, ack_batch, connect
from services.ledger import Ledger, OrderState
from services.messaging import declare_orders, open_broker
from services.order_api import OrderApiSettings, create_app
from services.orders import IDEMPOTENCY_NAMESPACE, EventKind, Order, OrderEvent
from tests.support.brokers import Endpoint, start_redis
from tests.support.containers import Credentials
from tests.support.receiving import receive_count, wait_for

pytestmark = pytest.mark.docker

ORDER = {
    "customer": {"id": "table-7", "name": "Grace"},
    "items": [{"item": "cortado", "quantity": 2}, {"item": "mocha", "size": "small"}],
}


@dataclass
class Shop:
    """The API under test, and what a barista and a kitchen display see of the same broker."""

    client: TestClient
    settings: OrderApiSettings
    barista: Broker
    kitchen: Subscription
    ledger: Ledger


def declare(broker: Broker, settings: OrderApiSettings) -> None:
    declare_orders(
        broker,
        settings.orders_queue,
        settings.dead_letter_queue,
        settings.max_receive_count,
        settings.visibility_timeout,
    )


@pytest.fixture
def shop(endpoint: Endpoint, redis_server: Endpoint, unique_name: str) -> Iterator[Shop]:
    settings = OrderApiSettings(
        broker_url=endpoint.url,
        ledger_url=redis_server.url,
        orders_queue=unique_name,
        dead_letter_queue=f"{unique_name}-dlq",
        events_topic=f"{unique_name}-events",
        ledger_namespace=f"test:{uuid.uuid4().hex}",
    )
    api_broker = open_broker(settings.broker_url, settings.broker_timeout)
    barista = connect(endpoint.url)
    try:
        # The barista's connection (the adapters' default 30 s budgets) creates the queues and
        # the topic, so a just-started, busy Kafka does not fail the API's 5 s declare.
        declare(barista, settings)
        kitchen = barista.subscribe(settings.events_topic, "kitchen-display", durable=True)
        declare(api_broker, settings)
        ledger = Ledger.from_url(settings.ledger_url, settings.ledger_namespace)
        with TestClient(create_app(api_broker, ledger, settings)) as client:
            yield Shop(client, settings, barista, kitchen, ledger)
        kitchen.close()
        barista.delete_subscription(settings.events_topic, "kitchen-display")
    finally:
        barista.close()
        api_broker.close()


def test_an_accepted_order_is_on_the_queue_announced_and_in_the_ledger(shop: Shop):
    response = shop.client.post("/orders", json=ORDER)

    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]

    [delivery] = receive_count(
        lambda: shop.barista.receive(shop.settings.orders_queue, max_messages=10, wait=1), 1
    )
    order = Order.model_validate_json(delivery.message.body)
    assert order.order_id == order_id
    assert order.customer.id == "table-7"
    assert [(item.item, item.quantity) for item in order.items] == [("cortado", 2), ("mocha", 1)]
    assert delivery.message.group_id == "table-7"
    assert delivery.message.trace_id == order_id
    assert delivery.message.headers["content-type"] == "application/json"

    [announced] = receive_count(lambda: shop.kitchen.receive(max_messages=10, wait=1), 1)
    event = OrderEvent.model_validate_json(announced.message.body)
    assert (event.kind, event.order_id, event.cups) == (EventKind.PLACED, order_id, 3)

    assert shop.ledger.state(order_id) is OrderState.ACCEPTED
    assert shop.client.get(f"/orders/{order_id}").json()["state"] == "accepted"


def test_a_refused_order_puts_nothing_on_the_queue(shop: Shop):
    assert shop.client.post("/orders", json={"customer": {"id": "x"}}).status_code == 422
    assert shop.client.post("/orders", json=ORDER).status_code == 202

    received = receive_count(
        lambda: shop.barista.receive(shop.settings.orders_queue, max_messages=10, wait=1),
        2,
        timeout=3,
    )
    assert [Order.model_validate_json(d.message.body).customer.name for d in received] == ["Grace"]


def test_readyz_is_200_on_a_live_broker_and_ledger(shop: Shop):
    response = shop.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"broker": "ok", "ledger": "ok"}


@pytest.fixture
def own_redis() -> Iterator[Endpoint]:
    """A broker of the test's own, since the test freezes it."""
    endpoint = start_redis(Credentials.generate("frozen-redis"))
    try:
        yield endpoint
    finally:
        endpoint.container.stop()


def test_a_frozen_broker_gets_503s_never_a_202_and_the_api_recovers_with_it(
    own_redis: Endpoint, redis_server: Endpoint, unique_name: str
):
    settings = OrderApiSettings(
        broker_url=own_redis.url,
        ledger_url=redis_server.url,
        orders_queue=unique_name,
        dead_letter_queue=f"{unique_name}-dlq",
        broker_timeout=1.0,
        ledger_namespace=f"test:{uuid.uuid4().hex}",
    )
    ledger = Ledger.from_url(settings.ledger_url, settings.ledger_namespace)
    with open_broker(settings.broker_url, settings.broker_timeout) as broker:
        declare(broker, settings)
        client = TestClient(create_app(broker, ledger, settings))
        frozen = own_redis.container.get_wrapped_container()
        frozen.pause()  # a hung broker: connections stay open, nothing answers
        try:
            answers = [client.post("/orders", json=ORDER) for _ in range(2)]
            not_ready = client.get("/readyz")
        finally:
            frozen.unpause()

        assert [a.status_code for a in answers] == [503, 503]
        assert all(a.headers["retry-after"] for a in answers)
        assert not_ready.status_code == 503
        assert not_ready.json()["failed"] == ["broker"]
        assert ledger.summary().accepted == 0

        accepted: list[str] = []

        def order_once_more() -> bool:
            response = client.post("/orders", json=ORDER)
            if response.status_code == 202:
                accepted.append(response.json()["order_id"])
            return bool(accepted)

        assert wait_for(order_once_more, timeout=15, interval=0.2)
        assert ledger.state(accepted[0]) is OrderState.ACCEPTED


def test_orders_in_a_batch_the_frozen_broker_never_confirmed_get_503_and_no_202_is_lost(
    own_redis: Endpoint, redis_server: Endpoint, unique_name: str
):
    """Sixteen customers order at once, so order-api commits their orders in batches; the
    broker is frozen (docker pause) while batches are at it. Every 202 must be on the queue
    and in the ledger; the orders of the frozen batches get 503 and leave no ledger record
    behind, unless their send did land after all (a 503 means "not confirmed")."""
    settings = OrderApiSettings(
        broker_url=own_redis.url,
        ledger_url=redis_server.url,
        orders_queue=unique_name,
        dead_letter_queue=f"{unique_name}-dlq",
        events_topic=f"{unique_name}-events",
        broker_timeout=1.0,
        ledger_namespace=f"test:{uuid.uuid4().hex}",
    )
    ledger = Ledger.from_url(settings.ledger_url, settings.ledger_namespace)
    answers: dict[str, int] = {}  # order id (from its Idempotency-Key) -> status
    lock = threading.Lock()
    stop = threading.Event()

    def customer(number: int) -> None:
        for attempt in itertools.count():
            if stop.is_set():
                return
            key = f"{unique_name}/{number}/{attempt}"
            status = client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
            with lock:
                answers[uuid.uuid5(IDEMPOTENCY_NAMESPACE, key).hex] = status.status_code

    def count(status: int) -> int:
        with lock:
            return sum(answer == status for answer in answers.values())

    with open_broker(settings.broker_url, settings.broker_timeout) as broker:
        declare(broker, settings)
        frozen = own_redis.container.get_wrapped_container()
        with TestClient(create_app(broker, ledger, settings)) as client:
            with ThreadPoolExecutor(16) as customers:
                for number in range(16):
                    customers.submit(customer, number)
                try:
                    assert wait_for(lambda: count(202) >= 100, timeout=30, interval=0.01)
                    frozen.pause()  # mid-stream: some batch is at the broker now
                    assert wait_for(lambda: count(503) >= 16, timeout=30, interval=0.05)
                finally:
                    frozen.unpause()
                    stop.set()
            assert {202, 503} >= set(answers.values())

        queued: set[str] = set()
        while batch := broker.receive(settings.orders_queue, max_messages=10, wait=1):
            queued |= {Order.model_validate_json(d.message.body).order_id for d in batch}
            ack_batch(batch)

    confirmed = {order_id for order_id, status in answers.items() if status == 202}
    refused = set(answers) - confirmed
    assert confirmed <= queued, "a 202 whose order is not on the queue"
    assert queued <= set(answers), "an order on the queue that nobody placed"
    for order_id in confirmed:
        assert ledger.state(order_id) is OrderState.ACCEPTED
    for order_id in refused - queued:
        assert ledger.state(order_id) is None, "a refused order left a ledger record"
