"""The barista: takes one order at a time from the orders queue, brews it, says it is ready.

At least once, made idempotent: the ledger records each brew, and an order the ledger already
calls brewed is acked without brewing it again (a redelivery after a crash between "brewed"
and "acked"). A message that is not a valid order is nacked with the reason, so the queue's
redrive policy moves it to the dead-letter queue after ``max_receive_count`` receives.

SIGTERM mid-brew: the cup is finished when that fits in ``stop_grace`` seconds, else the order
is handed back (nacked for redelivery) at once; either way the process exits 0 well inside
the container's stop timeout.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import Field, ValidationError

from broker_adapters import Broker, BrokerError, Delivery, Outcome
from services import logs
from services.ledger import Ledger, OrderState
from services.lifecycle import Lifecycle, serve_side_door
from services.messaging import declare_orders, open_broker
from services.metrics import DUPLICATES_SKIPPED, ORDER_LATENCY, ORDERS_FAILED, ORDERS_PROCESSED
from services.orders import EventKind, Order, OrderEvent
from services.settings import Settings, SettingsError, load

log = logging.getLogger("services.barista")


class BaristaSettings(Settings):
    broker_url: str
    ledger_url: str
    orders_queue: str = "orders"
    dead_letter_queue: str = "orders-dlq"
    events_topic: str = "order-events"
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    visibility_timeout: float = Field(default=30.0, ge=0, le=43200)
    # Brewing time = the menu's seconds per cup times this (the demo's time scale shortens it).
    brew_seconds_per_unit: float = Field(default=1.0, ge=0)
    # After SIGTERM, finish a cup only if it needs at most this long; else hand it back.
    stop_grace: float = Field(default=5.0, ge=0)
    broker_timeout: float = Field(default=30.0, gt=0)
    ledger_namespace: str = "barista:ledger"
    name: str = Field(default_factory=socket.gethostname)
    port: int = Field(default=8080, ge=1, le=65535)


class Barista:
    """The work loop, with its collaborators injected so tests can drive it in-process."""

    def __init__(
        self,
        settings: BaristaSettings,
        broker: Broker,
        ledger: Ledger,
        stopping: threading.Event,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.ledger = ledger
        self.stopping = stopping
        self.current: str | None = None

    def run(self) -> None:
        """Take orders until asked to stop; returns with nothing held."""
        while not self.stopping.is_set():
            for delivery in self.broker.receive(
                self.settings.orders_queue,
                max_messages=1,
                wait=1.0,
                visibility_timeout=self.settings.visibility_timeout,
            ):
                self.handle(delivery)

    def handle(self, delivery: Delivery) -> None:
        try:
            order = Order.model_validate_json(delivery.message.body)
        except ValidationError as error:
            self._reject(delivery, f"invalid order: {_first_problem(error)}")
            return
        if self.ledger.state(order.order_id) is OrderState.BREWED:
            log.info("already brewed; acking the redelivery", extra={"order_id": order.order_id})
            DUPLICATES_SKIPPED.inc()
            delivery.ack()
            return
        if not self._brew(order, delivery):
            return
        self.broker.publish(
            self.settings.events_topic,
            self._ready_event(order).model_dump_json().encode(),
            group_id=order.customer.id,
            trace_id=order.order_id,
        )
        brews = self.ledger.brewed(order.order_id)
        delivery.ack()
        ORDERS_PROCESSED.inc()
        latency = (datetime.now(UTC) - order.accepted_at).total_seconds()
        ORDER_LATENCY.observe(max(latency, 0.0))
        log.info(
            "order ready",
            extra={"order_id": order.order_id, "latency": round(latency, 3), "brews": brews},
        )

    def _brew(self, order: Order, delivery: Delivery) -> bool:
        """Brew; False when a stop request made us hand the order back instead."""
        seconds = order.brew_seconds(self.settings.brew_seconds_per_unit)
        finish_at = time.monotonic() + seconds
        self.current = order.order_id
        log.info(
            "brewing",
            extra={
                "order_id": order.order_id,
                "seconds": round(seconds, 3),
                "attempt": delivery.message.attempt,
            },
        )
        try:
            if self.stopping.wait(seconds):
                remaining = finish_at - time.monotonic()
                if remaining > self.settings.stop_grace:
                    delivery.nack(requeue=True, reason="barista stopping; order handed back")
                    log.info("handed back", extra={"order_id": order.order_id})
                    return False
                time.sleep(max(remaining, 0.0))  # the cup is nearly done: finish it
            return True
        finally:
            self.current = None

    def _reject(self, delivery: Delivery, reason: str) -> None:
        delivery.nack(requeue=True, reason=reason)
        outcome = delivery.outcome
        ORDERS_FAILED.labels(outcome=outcome.value).inc()
        order_id = _order_id_of(delivery.message.body)
        if outcome is Outcome.DEAD_LETTERED and order_id is not None:
            self.ledger.dead_lettered(order_id)
        log.warning(
            "order rejected",
            extra={"order_id": order_id, "reason": reason, "outcome": outcome.value},
        )

    def _ready_event(self, order: Order) -> OrderEvent:
        return OrderEvent(
            kind=EventKind.READY,
            order_id=order.order_id,
            customer_id=order.customer.id,
            cups=order.cups(),
            at=datetime.now(UTC),
            accepted_at=order.accepted_at,
            barista=self.settings.name,
        )


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _order_id_of(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("order_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def main(environ: Mapping[str, str]) -> int:
    logs.configure("barista")
    try:
        settings = load(BaristaSettings, environ)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    lifecycle = Lifecycle()
    lifecycle.install_signal_handlers()
    broker = open_broker(settings.broker_url, settings.broker_timeout)
    declare_orders(
        broker,
        settings.orders_queue,
        settings.dead_letter_queue,
        settings.max_receive_count,
        settings.visibility_timeout,
    )
    ledger = Ledger.from_url(settings.ledger_url, settings.ledger_namespace)
    barista = Barista(settings, broker, ledger, lifecycle.stopping)
    side_door = serve_side_door(settings.port, ready=lambda: not lifecycle.stopping.is_set())
    log.info("barista on shift", extra={"queue": settings.orders_queue, "barista": settings.name})
    try:
        barista.run()
    except BrokerError:
        log.exception("broker failed; leaving the shift")
        return 1
    finally:
        broker.close()
        side_door.should_exit = True
    log.info("barista off shift")
    return 0
