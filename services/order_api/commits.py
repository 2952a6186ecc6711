"""Group commit for ``POST /orders``: concurrent orders share one ledger write, one confirmed
broker send and one event publish.

A confirmed send costs a broker round trip (Kafka's acks=all, RabbitMQ's publisher confirm,
a Redis reply) whether it carries one order or a hundred. Paid per request, that round trip
caps one order-api at a few hundred orders/s; paid per batch, at what the broker and the
HTTP layer can take. This is the database technique of the same name: the first request to
arrive while no batch is being committed commits one at once (a batch of one, no added wait
at low load); requests arriving while it runs queue up and go out together as the next batch,
led by the first of them. Nothing waits on a timer.

Each batch takes the steps ``services.order_api.app`` describes for one order, as a whole:

1. ``Ledger.accepted_many``: one pipelined Redis round trip records every order in the batch;
2. ``Broker.send_batch``: one send, returned only when the broker confirmed every message;
3. ``Broker.publish_batch``: the batch's order-placed events, one confirmed publish.

The guarantee is per order and unchanged: an order is answered 202 only when the ledger write
and the send of its batch both succeeded. A failure or missed deadline in step 1 or 2 refuses
every order in the batch (each request gets its 503) and withdraws their ledger records; a
failure in step 3 is logged on every order's line and the orders still get their 202. A batch
is never split between outcomes: the adapters confirm a batch as a whole, so a partial
confirm is indistinguishable from none and is refused as none (a 503 means "not confirmed",
not "not enqueued"; see the app's docstring for how a client retries safely).

What it costs a request: at most the time of the batch before its own (it waits for that one
to finish) plus its own batch's three round trips. A batch holds at most ``MAX_BATCH``
orders; the rest wait for the next one.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Literal, Protocol

import anyio

from broker_adapters import Broker, BrokerError, OutgoingMessage
from services.order_api.calls import BlockingCalls, Saturated
from services.orders import EventKind, Order, OrderEvent

log = logging.getLogger("services.order_api")

JSON = "application/json"
# Orders per batch. The broker adapters confirm far larger batches in one window; this bounds
# one Redis pipeline and one batch's memory when thousands of requests are waiting.
MAX_BATCH = 256


class BatchLedger(Protocol):
    """The ledger writes a batch needs (``services.ledger.Ledger``; tests pass a fake)."""

    def accepted_many(self, order_ids: Sequence[str]) -> None: ...

    def withdrawn_many(self, order_ids: Sequence[str]) -> list[bool]: ...


def placed_event(order: Order) -> OrderEvent:
    return OrderEvent(
        kind=EventKind.PLACED,
        order_id=order.order_id,
        customer_id=order.customer.id,
        cups=order.cups(),
        at=datetime.now(UTC),
        accepted_at=order.accepted_at,
    )


class Refused(Exception):
    """The order's batch was not committed. ``step`` is what failed: "ledger" (the write),
    "broker" (the send was not confirmed in time) or "internal" (a bug: still no 2xx)."""

    def __init__(
        self, step: Literal["ledger", "broker", "internal"], error: BaseException, seconds: float
    ) -> None:
        super().__init__(step)
        self.step = step
        self.error = error
        self.seconds = seconds


@dataclass(eq=False)
class _Waiting:
    order: Order
    woken: anyio.Event = field(default_factory=anyio.Event)
    # Set by the batch that took this order: the follow-up outcome ("ok" / "failed: …") or
    # the refusal. None until then.
    event: str | None = None
    refused: Refused | None = None
    # Woken to commit the next batch (it is the first order of it) rather than with an outcome.
    leads: bool = False


class OrderCommits:
    """Commits orders in batches; ``commit`` answers for one order (module docstring)."""

    def __init__(
        self,
        broker: Broker,
        ledger: BatchLedger,
        *,
        orders_queue: str,
        events_topic: str,
        calls: BlockingCalls,
        broker_timeout: float,
        ledger_timeout: float,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.broker = broker
        self.ledger = ledger
        self.orders_queue = orders_queue
        self.events_topic = events_topic
        self.calls = calls
        self.broker_timeout = broker_timeout
        self.ledger_timeout = ledger_timeout
        self.max_batch = max_batch
        # Guarded by a thread lock, not an async one: the state is tiny and never held across
        # an await, and a test client may run requests on separate event loops.
        self._lock = threading.Lock()
        self._waiting: deque[_Waiting] = deque()
        self._committing = False
        self.batches = 0  # batches committed or refused since start (tests read it)

    @property
    def waiting(self) -> int:
        """Orders waiting for a batch to take them (not those in the batch being committed)."""
        with self._lock:
            return len(self._waiting)

    async def commit(self, order: Order) -> str:
        """Commit ``order`` with whatever else is waiting; returns the follow-up outcome
        ("ok", or "failed: …" when the event publish failed) once the ledger holds the order
        and the broker confirmed it. Raises ``Refused`` otherwise.

        Shielded from cancellation: a request whose client went away still takes its part in
        its batch (the batch's outcome does not depend on it), and the commit it leads still
        hands on to the next batch.
        """
        waiting = _Waiting(order)
        with self._lock:
            self._waiting.append(waiting)
            if not self._committing:
                self._committing = waiting.leads = True
        with anyio.CancelScope(shield=True):
            if not waiting.leads:
                await waiting.woken.wait()
            if waiting.leads:
                await self._lead()
        refused = waiting.refused
        if refused is not None:
            # A fresh exception per request: the batch's one is shared by every order in it.
            raise Refused(refused.step, refused.error, refused.seconds)
        assert waiting.event is not None
        return waiting.event

    async def _lead(self) -> None:
        with self._lock:
            count = min(self.max_batch, len(self._waiting))
            batch = [self._waiting.popleft() for _ in range(count)]
        try:
            await self._commit_batch(batch)
        finally:
            self.batches += 1
            for taken in batch:
                if taken.event is None and taken.refused is None:  # only if _commit_batch broke
                    taken.refused = Refused("internal", RuntimeError("batch abandoned"), 0.0)
                taken.leads = False
                taken.woken.set()
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.leads = True
                    following.woken.set()
                else:
                    self._committing = False

    async def _commit_batch(self, batch: list[_Waiting]) -> None:
        ids = [taken.order.order_id for taken in batch]
        try:
            await self.calls.run(self.ledger_timeout, partial(self.ledger.accepted_many, ids))
        except Exception as error:
            if isinstance(error, TimeoutError):
                # A write that timed out may still land: take it back, as for a failed send.
                await self._withdraw(ids)
            _refuse(batch, Refused("ledger", error, self.ledger_timeout))
            return
        messages = [
            OutgoingMessage(
                taken.order.model_dump_json().encode(),
                group_id=taken.order.customer.id,
                trace_id=taken.order.order_id,
                headers={"content-type": JSON},
            )
            for taken in batch
        ]
        send = partial(self.broker.send_batch, self.orders_queue, messages)
        try:
            await self.calls.run(self.broker_timeout, send)
        except (BrokerError, TimeoutError, Saturated) as error:
            await self._withdraw(ids)
            _refuse(batch, Refused("broker", error, self.broker_timeout))
            return
        except Exception as error:
            # Not a BrokerError: a bug, not an outage. Still unconfirmed, so still no 2xx.
            await self._withdraw(ids)
            _refuse(batch, Refused("internal", error, self.broker_timeout))
            return
        event = await self._follow_up(partial(self._announce, [t.order for t in batch]))
        for taken in batch:
            taken.event = event

    async def _withdraw(self, ids: list[str]) -> None:
        """Take back the ledger records of orders that were not confirmed (best effort: a
        record left behind reads "accepted" until someone looks at the queue)."""
        try:
            await self.calls.run(self.ledger_timeout, partial(self.ledger.withdrawn_many, ids))
        except Exception as error:
            log.warning(
                "ledger records of unconfirmed orders not withdrawn",
                extra={"order_ids": ids, "detail": describe(error, self.ledger_timeout)},
            )

    def _announce(self, orders: list[Order]) -> None:
        self.broker.publish_batch(
            self.events_topic,
            [
                OutgoingMessage(
                    placed_event(order).model_dump_json().encode(),
                    group_id=order.customer.id,
                    trace_id=order.order_id,
                    headers={"content-type": JSON},
                )
                for order in orders
            ],
        )

    async def _follow_up(self, call: Callable[[], object]) -> str:
        """A step after the confirm: "ok", or what failed; never raises."""
        try:
            await self.calls.run(self.broker_timeout, call)
        except Exception as error:
            return f"failed: {describe(error, self.broker_timeout)}"
        return "ok"


def _refuse(batch: list[_Waiting], refused: Refused) -> None:
    for taken in batch:
        taken.refused = refused


def describe(error: BaseException, seconds: float | None = None) -> str:
    """An error as a log or readiness line; a missed deadline says how long it waited."""
    if isinstance(error, TimeoutError) and seconds is not None:
        return f"no answer within {seconds:g} s"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
