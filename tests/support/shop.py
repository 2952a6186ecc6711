"""A coffee shop on one Docker network: a broker, a Redis ledger, and orders to brew.

Shared by the tests that run the service image for real (services in containers, Auto Scaling
groups of baristas), so each one states only what it proves.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from testcontainers.core.network import Network

from broker_adapters import connect
from services.ledger import Ledger
from services.messaging import declare_orders
from services.orders import Customer, Order, OrderItem
from tests.support.brokers import Endpoint, start_backend, start_redis
from tests.support.containers import Credentials

VISIBILITY_TIMEOUT = "3"
MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class Shop:
    backend: str
    network: Network
    broker: Endpoint
    ledger: Endpoint


@contextmanager
def open_shop(backend: str) -> Iterator[Shop]:
    """The backend's broker (kafka-share: Kafka, its queues on share groups) and a ledger
    (the same Redis when the backend is Redis)."""
    with Network() as network:
        broker = start_backend(backend, Credentials.generate(backend), network)
        ledger = (
            broker if backend == "redis" else start_redis(Credentials.generate("ledger"), network)
        )
        try:
            yield Shop(backend, network, broker, ledger)
        finally:
            broker.container.stop()
            if ledger is not broker:
                ledger.container.stop()


@dataclass(frozen=True)
class Counter:
    """One test's queue names and ledger namespace, so tests never see each other's orders."""

    queue: str
    namespace: str
    # Seconds, as BARISTA_VISIBILITY_TIMEOUT: on a Kafka share group it is the lock, which
    # nothing extends, so a test whose cups brew longer than 3 s asks for more.
    visibility_timeout: str = VISIBILITY_TIMEOUT

    @classmethod
    def fresh(cls, visibility_timeout: str = VISIBILITY_TIMEOUT) -> Counter:
        name = f"orders-{uuid.uuid4().hex[:8]}"
        return cls(queue=name, namespace=f"test:{name}", visibility_timeout=visibility_timeout)

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}-dlq"

    def ledger(self, shop: Shop) -> Ledger:
        return Ledger.from_url(shop.ledger.url, self.namespace)


def service_environment(shop: Shop, counter: Counter) -> dict[str, str]:
    """What every service container of this counter needs to find the broker and the ledger."""
    return {
        "BARISTA_BROKER_URL": shop.broker.internal_url(),
        "BARISTA_LEDGER_URL": shop.ledger.internal_url(),
        "BARISTA_LEDGER_NAMESPACE": counter.namespace,
        "BARISTA_ORDERS_QUEUE": counter.queue,
        "BARISTA_DEAD_LETTER_QUEUE": counter.dead_letter_queue,
        "BARISTA_EVENTS_TOPIC": f"{counter.queue}-events",
        "BARISTA_MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
        "BARISTA_VISIBILITY_TIMEOUT": counter.visibility_timeout,
    }


def place_orders(shop: Shop, counter: Counter, count: int = 1, first: int = 0) -> list[Order]:
    """Send ``count`` orders the way order-api does, each one accepted in the ledger; the
    customers (message groups) are ``c-<n % 7>`` for n from ``first``."""
    orders = [
        Order(
            customer=Customer(id=f"c-{n % 7}", name="Grace"),
            items=[OrderItem(item="flat-white")],
            order_id=uuid.uuid4().hex,
            accepted_at=datetime.now(UTC),
        )
        for n in range(first, first + count)
    ]
    ledger = counter.ledger(shop)
    with connect(shop.broker.url) as broker:
        declare_orders(
            broker,
            counter.queue,
            counter.dead_letter_queue,
            MAX_RECEIVE_COUNT,
            float(counter.visibility_timeout),
        )
        for order in orders:
            broker.send(counter.queue, order.model_dump_json().encode(), group_id=order.customer.id)
            ledger.accepted(order.order_id)
    return orders


class OrderFlow(threading.Thread):
    """Places ``per_tick`` orders every ``tick`` wall seconds until told to stop (``done``);
    remembers every one accepted, and the error that stopped it, if any."""

    def __init__(self, shop: Shop, counter: Counter, per_tick: int, tick: float) -> None:
        super().__init__(name="orders", daemon=True)
        self.shop, self.counter = shop, counter
        self.per_tick, self.tick = per_tick, tick
        self.done = threading.Event()
        self.placed: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.done.is_set():
                orders = place_orders(
                    self.shop, self.counter, self.per_tick, first=len(self.placed)
                )
                self.placed.extend(o.order_id for o in orders)
                self.done.wait(self.tick)
        except BaseException as error:  # reported by the test, not lost on this thread
            self.error = error
