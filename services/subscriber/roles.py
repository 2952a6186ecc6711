"""What each subscription does with an order event: the kitchen display, loyalty, the notifier,
the pickup board (``pickup.py``) and analytics.

A role is pure in-memory state fed one ``OrderEvent`` at a time; it never touches a broker,
so the tests drive it with hand-made events. Delivery is at least once, so every role says what
a repeated event does to it. Handlers run on the consumer thread while the side door reads the
state from its own thread, hence the locks.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from services.orders import EventKind, OrderEvent
from services.subscriber.pickup import PickupBoard
from services.subscriber.recent import REMEMBERED_ORDERS, RecentIds

log = logging.getLogger(__name__)

BOARD_SIZE = 20


class Role(Protocol):
    """One subscription's behaviour: handle an event, and show its state on the side door."""

    def handle(self, event: OrderEvent) -> None:
        """Apply one event; must be cheap and must not raise for a valid event."""

    def routes(self) -> list[BaseRoute]:
        """Side-door routes that show this role's state (may be empty)."""


@dataclass(frozen=True)
class BoardEntry:
    order_id: str
    customer_id: str
    cups: int
    status: Literal["placed", "ready"]
    placed_at: datetime | None = None
    ready_at: datetime | None = None
    barista: str | None = None

    def as_json(self) -> dict[str, Any]:
        entry = asdict(self)
        for key in ("placed_at", "ready_at"):
            entry[key] = entry[key].isoformat() if entry[key] else None
        return entry


class KitchenDisplay:
    """The last ``size`` orders and whether each is placed or ready, newest first.

    Idempotent: a repeated "placed" changes nothing, and a "placed" that arrives after its
    "ready" (events from different publishers are not ordered) does not turn it back. A
    "ready" for an order the board never saw is shown too: the display may have subscribed
    after the order was placed, and the customer still wants to see it is ready.
    """

    def __init__(self, size: int = BOARD_SIZE) -> None:
        self._size = size
        self._orders: OrderedDict[str, BoardEntry] = OrderedDict()
        self._lock = threading.Lock()

    def handle(self, event: OrderEvent) -> None:
        with self._lock:
            known = self._orders.get(event.order_id)
            if event.kind is EventKind.PLACED:
                entry = known or BoardEntry(event.order_id, event.customer_id, event.cups, "placed")
                entry = replace(entry, placed_at=entry.placed_at or event.at)
            else:
                entry = known or BoardEntry(event.order_id, event.customer_id, event.cups, "ready")
                entry = replace(entry, status="ready", ready_at=event.at, barista=event.barista)
            self._orders[event.order_id] = entry
            while len(self._orders) > self._size:
                self._orders.popitem(last=False)

    def board(self) -> list[BoardEntry]:
        """Newest order first, as a display lists them."""
        with self._lock:
            return list(reversed(self._orders.values()))

    def routes(self) -> list[BaseRoute]:
        async def board(_request: Request) -> JSONResponse:
            return JSONResponse({"orders": [entry.as_json() for entry in self.board()]})

        return [Route("/board", board)]


class Loyalty:
    """Cups per customer, counted when an order is ready (served), not when it is placed.

    A redelivered "ready", or a second brew of the same order, would otherwise award points
    twice, so each order id counts once (within ``REMEMBERED_ORDERS``).
    """

    def __init__(self, remembered: int = REMEMBERED_ORDERS) -> None:
        self._cups: Counter[str] = Counter()
        self._counted = RecentIds(remembered)
        self._lock = threading.Lock()

    def handle(self, event: OrderEvent) -> None:
        if event.kind is not EventKind.READY:
            return
        with self._lock:
            if self._counted.first_time(event.order_id):
                self._cups[event.customer_id] += event.cups

    def points(self) -> dict[str, int]:
        with self._lock:
            return dict(self._cups)

    def routes(self) -> list[BaseRoute]:
        async def points(_request: Request) -> JSONResponse:
            cups = self.points()
            ranked = dict(sorted(cups.items(), key=lambda item: (-item[1], item[0])))
            return JSONResponse({"customers": ranked, "total_cups": sum(cups.values())})

        return [Route("/points", points)]


class Notifier:
    """Tells the customer their order is ready, as a log line a log shipper could forward.

    Repeats are not suppressed: a second "your coffee is ready" is a nuisance, not a wrong
    balance, and seeing it in the logs shows at-least-once delivery happening.
    """

    def __init__(self) -> None:
        self._sent: list[str] = []
        self._lock = threading.Lock()

    def handle(self, event: OrderEvent) -> None:
        if event.kind is not EventKind.READY:
            return
        log.info(
            "order ready for %s",
            event.customer_id,
            extra={
                "order_id": event.order_id,
                "customer_id": event.customer_id,
                "cups": event.cups,
            },
        )
        with self._lock:
            self._sent.append(event.order_id)

    def notified(self) -> list[str]:
        """Order ids notified, in order, repeats included."""
        with self._lock:
            return list(self._sent)

    def routes(self) -> list[BaseRoute]:
        return []


class Tally:
    """``analytics``, and any other subscription (an audit trail, a new team's consumer):
    counts events by kind. Repeats count again: it tallies deliveries, not orders."""

    def __init__(self) -> None:
        self._kinds: Counter[str] = Counter()
        self._lock = threading.Lock()

    def handle(self, event: OrderEvent) -> None:
        with self._lock:
            self._kinds[event.kind.value] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._kinds)

    def routes(self) -> list[BaseRoute]:
        async def counts(_request: Request) -> JSONResponse:
            return JSONResponse({"events": self.counts()})

        return [Route("/events", counts)]


ROLES: dict[str, Callable[[], Role]] = {
    "kitchen-display": KitchenDisplay,
    "loyalty": Loyalty,
    "notifier": Notifier,
    "pickup-board": PickupBoard,
    "analytics": Tally,
}

__all__ = ["REMEMBERED_ORDERS", "ROLES", "RecentIds", "Role", "role_for"]


def role_for(subscription: str) -> Role:
    """The role a subscription name asks for; unknown names get a ``Tally``."""
    make = ROLES.get(subscription, Tally)
    return make()
