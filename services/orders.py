"""The coffee shop's data: the menu, an order as the counter takes it, and order events.

Validated with pydantic at every boundary (HTTP body, queue message), so a bad order is
refused with a reason per field and never reaches a barista as a surprise. Times are aware
(with a UTC offset): a naive one cannot be compared with the barista's clock, so it is refused
like any other invalid field.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Seconds of brewing per cup, before BARISTA_BREW_SECONDS_PER_ITEM scales it.
MENU: dict[str, float] = {
    "espresso": 0.5,
    "americano": 0.7,
    "cortado": 0.8,
    "flat-white": 1.0,
    "cappuccino": 1.0,
    "latte": 1.0,
    "mocha": 1.2,
    "tea": 0.6,
}
MAX_ITEMS = 10
MAX_QUANTITY = 6

MenuItem = Literal[
    "espresso", "americano", "cortado", "flat-white", "cappuccino", "latte", "mocha", "tea"
]


class Size(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=80)


class OrderItem(Strict):
    item: MenuItem
    size: Size = Size.MEDIUM
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


class OrderRequest(Strict):
    """What a customer posts to ``POST /orders``."""

    customer: Customer
    items: list[OrderItem] = Field(min_length=1, max_length=MAX_ITEMS)


# The uuid namespace of order ids made from a client's Idempotency-Key.
IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0c3a52-6b0e-4d5e-9a55-0b9c2a1b7e41")


class Order(OrderRequest):
    """An accepted order, as it travels on the orders queue."""

    order_id: str = Field(min_length=1, max_length=128)
    accepted_at: AwareDatetime

    @classmethod
    def accept(cls, request: OrderRequest, idempotency_key: str | None = None) -> Order:
        """A new order id, or with ``idempotency_key`` the one every retry of that request
        gets (a name-based uuid of the key), so a retried order is the same order."""
        order_id = (
            uuid.uuid4().hex
            if idempotency_key is None
            else uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key).hex
        )
        return cls(
            customer=request.customer,
            items=request.items,
            order_id=order_id,
            accepted_at=datetime.now(UTC),
        )

    def cups(self) -> int:
        return sum(item.quantity for item in self.items)

    def brew_seconds(self, seconds_per_unit: float) -> float:
        """How long the barista works on it: menu time per cup, scaled."""
        return sum(MENU[i.item] * i.quantity for i in self.items) * seconds_per_unit


class EventKind(StrEnum):
    PLACED = "order-placed"
    READY = "order-ready"


class OrderEvent(Strict):
    """What fans out on the order-events topic."""

    kind: EventKind
    order_id: str
    customer_id: str
    cups: int
    at: AwareDatetime
    accepted_at: AwareDatetime
    barista: str | None = None
    # What the pickup board calls out; only "ready" events carry it (the barista has the
    # order in hand), and events from before it existed parse without it.
    customer_name: str | None = None
