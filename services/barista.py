"""The barista: takes one order at a time from the orders queue, brews it, says it is ready.

At least once, made idempotent: the ledger records each brew, and an order the ledger already
calls brewed is acked without brewing it again (a redelivery after a crash between "brewed"
and "acked").

No message can crash the barista or hold it in a loop. A message whose headers the adapter
had to repair (``wire.MALFORMED``), whose body is not a valid order, or whose handling raises
anything else, is dead-lettered at once with the reason: a message that failed for what it
holds fails the same way next time. Only a broker error (the ready event not confirmed)
hands the order back for another try, which the redrive policy bounds by
``max_receive_count``. The ledger is the checker, not the system of record: when it does not
answer, the order is still brewed and acked, and the failure is logged.

While brewing, the barista extends the message's visibility every third of the visibility
timeout, where the broker keeps one (``Features.visibility_timeout``), so an order that
takes longer than the timeout is not handed to a second barista.

SIGTERM mid-brew: the cup is finished when that fits in ``stop_grace`` seconds, else the order
is handed back (nacked for redelivery) at once; either way the process exits 0 well inside
the container's stop timeout.

Scale-in with a terminate lifecycle hook (``BARISTA_LIFECYCLE_HOOK``, ``services.scale_in``):
once its instance waits in ``Terminating:Wait``, the barista takes no new order, finishes the
one in hand whatever it takes, completes the hook, and waits for the stop, so a scale-in never
hands back or kills a cup in progress.

On a Spot instance (``AWS_EC2_METADATA_SERVICE_ENDPOINT`` set, ``services.spot_notice``): once
the metadata service shows the interruption notice, the barista takes no new order, finishes
the one in hand if the two minutes allow (the stop's SIGTERM hands it back otherwise), and
waits for the stop.

In a warm pool (``services.warm_start``): a barista whose metadata service says it is headed
for a ``Warmed:*`` state is started and connected, answers its health check, and takes no
order until its target lifecycle state is ``InService``.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import BaseModel, Field, ValidationError

from broker_adapters import Broker, BrokerError, DeadLettered, Delivery, Outcome, wire
from services import logs
from services.ledger import Ledger, OrderState
from services.lifecycle import Lifecycle, serve_side_door
from services.messaging import declare_orders, open_broker
from services.metrics import DUPLICATES_SKIPPED, ORDER_LATENCY, ORDERS_FAILED, ORDERS_PROCESSED
from services.orders import EventKind, Order, OrderEvent
from services.scale_in import (
    AutoScalingSelf,
    BotocoreAutoScaling,
    ScaleInWatcher,
    complete_after_work,
)
from services.settings import Settings, SettingsError, load
from services.spot_notice import ENDPOINT_VARIABLE as METADATA_ENDPOINT_VARIABLE
from services.spot_notice import InstanceMetadata, SpotNoticeWatcher
from services.warm_start import IN_SERVICE, wait_until_in_service

log = logging.getLogger("services.barista")

# Visibility is extended this many times per visibility timeout while a cup is brewing.
HEARTBEATS_PER_TIMEOUT = 3
# The longest reason a dead letter carries (an exception's text can be any length).
MAX_REASON = 500
_ORDER_ID = re.compile(rb'"order_id"\s*:\s*"([A-Za-z0-9_.:-]{1,128})"')


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
    # Scale-in through a terminate lifecycle hook (services/scale_in.py); all optional.
    lifecycle_hook: str | None = Field(default=None, min_length=1, max_length=255)
    instance_id: str | None = None  # the orchestrator sets BARISTA_INSTANCE_ID at launch
    aws_endpoint: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    lifecycle_poll: float = Field(default=1.0, gt=0)
    # Seconds between questions to the metadata service while kept warm (services.warm_start).
    warm_poll: float = Field(default=0.5, gt=0)


class Barista:
    """The work loop, with its collaborators injected so tests can drive it in-process."""

    def __init__(
        self,
        settings: BaristaSettings,
        broker: Broker,
        ledger: Ledger,
        stopping: threading.Event,
        leaving: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.ledger = ledger
        self.stopping = stopping
        # Set on scale-in (Terminating:Wait): no new order, but the one in hand is finished.
        self.leaving = leaving if leaving is not None else threading.Event()
        self.current: str | None = None
        broker.watch_dead_letters(self._dead_lettered_by_receive)

    def run(self) -> None:
        """Take orders until asked to stop or to leave; returns with nothing held.

        Raises BrokerError only when the broker cannot be reached (receive, or settling a
        message); nothing a message holds ends the shift.
        """
        while not self.stopping.is_set() and not self.leaving.is_set():
            for delivery in self.broker.receive(
                self.settings.orders_queue,
                max_messages=1,
                wait=1.0,
                visibility_timeout=self.settings.visibility_timeout,
            ):
                self.handle(delivery)

    def handle(self, delivery: Delivery) -> None:
        """Brew and ack, or dead-letter with the reason; see the module docstring."""
        try:
            self._handle(delivery)
        except BrokerError as error:
            if delivery.outcome is Outcome.PENDING:
                self._reject(delivery, f"broker error: {_described(error)}", requeue=True)
            else:
                log.warning("broker error after settling", extra={"error": _described(error)})
        except Exception as error:
            if delivery.outcome is Outcome.PENDING:
                self._reject(delivery, f"barista failed on it: {_described(error)}")
            else:
                log.exception("failed after settling the order")

    def _handle(self, delivery: Delivery) -> None:
        malformed = delivery.message.headers.get(wire.MALFORMED)
        if malformed is not None:
            self._reject(delivery, f"malformed headers: {malformed}")
            return
        try:
            order = Order.model_validate_json(delivery.message.body)
        except ValidationError as error:
            self._reject(delivery, f"invalid order: {_first_problem(error)}")
            return
        if self._already_brewed(order.order_id):
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
        brews = self._record_brew(order.order_id)
        delivery.ack()
        ORDERS_PROCESSED.inc()
        latency = (datetime.now(UTC) - order.accepted_at).total_seconds()
        ORDER_LATENCY.observe(max(latency, 0.0))
        log.info(
            "order ready",
            extra={"order_id": order.order_id, "latency": round(latency, 3), "brews": brews},
        )

    def _already_brewed(self, order_id: str) -> bool:
        """The idempotency check; a ledger that does not answer means "brew it" (at least
        once allows a duplicate cup, never a lost one)."""
        try:
            return self.ledger.state(order_id) is OrderState.BREWED
        except Exception as error:
            log.warning(
                "ledger unavailable; brewing without the duplicate check",
                extra={"order_id": order_id, "error": _described(error)},
            )
            return False

    def _record_brew(self, order_id: str) -> int | None:
        try:
            return self.ledger.brewed(order_id)
        except Exception as error:
            log.warning(
                "ledger unavailable; brew not recorded",
                extra={"order_id": order_id, "error": _described(error)},
            )
            return None

    def _brew(self, order: Order, delivery: Delivery) -> bool:
        """Brew, keeping the message invisible meanwhile; False when a stop request made us
        hand the order back instead."""
        seconds = order.brew_seconds(self.settings.brew_seconds_per_unit)
        finish_at = time.monotonic() + seconds
        heartbeat = self._heartbeat_interval()
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
            while (remaining := finish_at - time.monotonic()) > 0:
                if self.stopping.wait(min(remaining, heartbeat or remaining)):
                    remaining = finish_at - time.monotonic()
                    if remaining > self.settings.stop_grace:
                        delivery.nack(requeue=True, reason="barista stopping; order handed back")
                        log.info("handed back", extra={"order_id": order.order_id})
                        return False
                    time.sleep(max(remaining, 0.0))  # the cup is nearly done: finish it
                    return True
                if heartbeat is not None and finish_at - time.monotonic() > 0:
                    self._extend_visibility(order.order_id, delivery)
            return True
        finally:
            self.current = None

    def _heartbeat_interval(self) -> float | None:
        """Seconds between visibility extensions; None where the broker keeps no deadline."""
        timeout = self.settings.visibility_timeout
        if not self.broker.features.visibility_changes or timeout <= 0:
            return None
        return timeout / HEARTBEATS_PER_TIMEOUT

    def _extend_visibility(self, order_id: str, delivery: Delivery) -> None:
        try:
            extended = delivery.change_visibility(self.settings.visibility_timeout)
        except BrokerError as error:
            log.warning(
                "visibility not extended", extra={"order_id": order_id, "error": str(error)}
            )
            return
        if not extended:
            log.warning(
                "visibility ran out before the heartbeat; another barista may brew it too",
                extra={"order_id": order_id},
            )

    def _reject(self, delivery: Delivery, reason: str, *, requeue: bool = False) -> None:
        """Dead-letter (or, for a broker error, hand back) and record it in the ledger."""
        reason = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
        delivery.nack(requeue=requeue, reason=reason)
        outcome = delivery.outcome
        ORDERS_FAILED.labels(outcome=outcome.value).inc()
        order_id = _order_id_of(delivery.message.body)
        if outcome is Outcome.DEAD_LETTERED and order_id is not None:
            self._record_dead_letter(order_id)
        log.warning(
            "order rejected",
            extra={"order_id": order_id, "reason": reason, "outcome": outcome.value},
        )

    def _dead_lettered_by_receive(self, letter: DeadLettered) -> None:
        """An order the receive dead-lettered before any barista saw it: received
        ``max_receive_count`` times by baristas that crashed (or, where the broker keeps a
        visibility timeout, let it run out). The ledger hears of it here, or nobody would
        tell it, and the order would read "in flight" forever."""
        if letter.queue != self.settings.orders_queue:
            return
        ORDERS_FAILED.labels(outcome=Outcome.DEAD_LETTERED.value).inc()
        order_id = _order_id_of(letter.message.body)
        if order_id is not None:
            self._record_dead_letter(order_id)
        log.warning(
            "order dead-lettered by the receive",
            extra={
                "order_id": order_id,
                "reason": letter.reason,
                "attempt": letter.message.attempt,
            },
        )

    def _record_dead_letter(self, order_id: str) -> None:
        try:
            self.ledger.dead_lettered(order_id)
        except Exception as error:
            log.warning(
                "ledger unavailable; dead letter not recorded",
                extra={"order_id": order_id, "error": _described(error)},
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
            customer_name=order.customer.name,
        )


class _Identified(BaseModel):
    """Just the order id of a body that may be no valid order (pydantic's parser bounds
    nesting depth, where ``json.loads`` would raise RecursionError)."""

    order_id: str = Field(min_length=1, max_length=128)


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _described(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _order_id_of(body: bytes) -> str | None:
    """The order id, so the ledger can record a dead letter; from a body that is not JSON
    the parser accepts (nested too deep, say), only when the body names exactly one."""
    try:
        return _Identified.model_validate_json(body).order_id
    except ValidationError:
        pass
    found = _ORDER_ID.findall(body)
    return found[0].decode() if len(found) == 1 else None


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
    leaving = threading.Event()
    scale_in = _scale_in(settings)
    if scale_in is not None:
        ScaleInWatcher(scale_in, leaving, lifecycle.stopping, settings.lifecycle_poll).start()
    endpoint = environ.get(METADATA_ENDPOINT_VARIABLE)
    metadata = InstanceMetadata(endpoint) if endpoint else None
    if metadata is not None:
        # A Spot instance: its two-minute notice sends it home like a scale-in.
        SpotNoticeWatcher(metadata, leaving, lifecycle.stopping, settings.lifecycle_poll).start()
    barista = Barista(settings, broker, ledger, lifecycle.stopping, leaving)
    in_service = threading.Event()
    working = (lifecycle.stopping, leaving)
    side_door = serve_side_door(
        settings.port, ready=lambda: in_service.is_set() and not any(e.is_set() for e in working)
    )
    try:
        headed_for = IN_SERVICE
        if metadata is not None:
            # Kept warm, it waits here: started, connected and healthy, taking no order.
            headed_for = (
                wait_until_in_service(metadata, lifecycle.stopping, settings.warm_poll)
                or IN_SERVICE
            )
        if headed_for != IN_SERVICE:
            log.info("never put in service", extra={"state": headed_for})
            lifecycle.stopping.wait()
        elif not lifecycle.stopping.is_set():  # a Stopped pool's stop ends its wait
            in_service.set()
            log.info(
                "barista on shift",
                extra={"queue": settings.orders_queue, "barista": settings.name},
            )
            barista.run()
        if scale_in is not None and leaving.is_set():
            # The order in hand is done: let the group go on, then wait for its SIGTERM.
            complete_after_work(scale_in, lifecycle.stopping)
            lifecycle.stopping.wait()
        elif leaving.is_set():
            lifecycle.stopping.wait()  # warned: idle until the stop at the deadline
    except BrokerError:
        log.exception("broker failed; leaving the shift")
        return 1
    finally:
        broker.close()
        side_door.should_exit = True
    log.info("barista off shift")
    return 0


def _scale_in(settings: BaristaSettings) -> AutoScalingSelf | None:
    """The group's view of this instance when a terminate hook is configured, else None."""
    if settings.lifecycle_hook is None:
        return None
    needed = {
        "BARISTA_INSTANCE_ID": settings.instance_id,
        "BARISTA_AWS_ENDPOINT": settings.aws_endpoint,
        "BARISTA_ACCESS_KEY_ID": settings.access_key_id,
        "BARISTA_SECRET_ACCESS_KEY": settings.secret_access_key,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        log.warning(
            "BARISTA_LIFECYCLE_HOOK is set but %s is not: the hook will time out instead",
            ", ".join(missing),
        )
        return None
    return BotocoreAutoScaling.connect(
        str(settings.aws_endpoint),
        str(settings.access_key_id),
        str(settings.secret_access_key),
        str(settings.instance_id),
        settings.lifecycle_hook,
    )
