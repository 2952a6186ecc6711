"""The guarantee ledger: every accepted order id and what became of it, in Redis.

Every service writes here (order-api: accepted, before it sends, so no order is confirmed
that the ledger does not hold, and withdrawn again when the send is not confirmed; barista:
brewed, with a count per order, and dead-lettered), so a test or the dashboard can prove that
nothing confirmed was lost and count duplicate brews. It also serves the barista's
idempotency check: an order the ledger says is brewed is acked without brewing it again.

Keys (``{ns}`` defaults to ``barista:ledger``): ``{ns}:state`` hash order id → state;
``{ns}:brews`` hash order id → number of times it was brewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import redis

# Delete the state only while it is still the given one (compare and delete, atomically).
_WITHDRAW = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class OrderState(StrEnum):
    ACCEPTED = "accepted"
    BREWED = "brewed"
    DEAD_LETTERED = "dead-lettered"


@dataclass(frozen=True)
class LedgerSummary:
    accepted: int
    brewed: int
    dead_lettered: int
    in_flight: int
    duplicates: int


class Ledger:
    def __init__(self, client: redis.Redis, namespace: str = "barista:ledger") -> None:
        self._client = client
        self._state = f"{namespace}:state"
        self._brews = f"{namespace}:brews"

    @classmethod
    def from_url(cls, url: str, namespace: str = "barista:ledger") -> Ledger:
        return cls(redis.Redis.from_url(url, socket_timeout=5, health_check_interval=10), namespace)

    def accepted(self, order_id: str) -> None:
        """Record an order before it is sent (order-api answers 202 only once this and the
        send both succeeded); a later state (a fast barista, a redelivery) is never
        overwritten."""
        self._client.hsetnx(self._state, order_id, OrderState.ACCEPTED.value)

    def accepted_many(self, order_ids: Sequence[str]) -> None:
        """``accepted`` for a batch of orders, in one pipelined round trip (order-api's group
        commit); not a transaction: each record stands alone, as ``accepted`` writes it."""
        with self._client.pipeline(transaction=False) as pipe:
            for order_id in order_ids:
                pipe.hsetnx(self._state, order_id, OrderState.ACCEPTED.value)
            pipe.execute()

    def withdrawn_many(self, order_ids: Sequence[str]) -> list[bool]:
        """``withdrawn`` for a batch, in one pipelined round trip; True for each record
        removed."""
        with self._client.pipeline(transaction=False) as pipe:
            for order_id in order_ids:
                pipe.eval(_WITHDRAW, 1, self._state, order_id, OrderState.ACCEPTED.value)
            return [bool(removed) for removed in pipe.execute()]

    def withdrawn(self, order_id: str) -> bool:
        """Forget an order recorded as accepted whose send was not confirmed (order-api
        records before it sends). A later state (a late confirm, brewed) is kept. True when
        the record was removed."""
        return bool(
            self._client.eval(_WITHDRAW, 1, self._state, order_id, OrderState.ACCEPTED.value)
        )

    def brewed(self, order_id: str) -> int:
        """Record a brew; returns how many times this order has now been brewed."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._brews, order_id, 1)
            pipe.hset(self._state, order_id, OrderState.BREWED.value)
            count, _ = pipe.execute()
        return int(count)

    def dead_lettered(self, order_id: str) -> None:
        self._client.hset(self._state, order_id, OrderState.DEAD_LETTERED.value)

    def state(self, order_id: str) -> OrderState | None:
        value = self._client.hget(self._state, order_id)
        return OrderState(_text(value)) if value else None

    def brews(self, order_id: str) -> int:
        return int(self._client.hget(self._brews, order_id) or 0)

    def summary(self) -> LedgerSummary:
        states = [_text(v) for v in self._client.hvals(self._state)]
        brews = [int(v) for v in self._client.hvals(self._brews)]
        return LedgerSummary(
            accepted=len(states),
            brewed=states.count(OrderState.BREWED.value),
            dead_lettered=states.count(OrderState.DEAD_LETTERED.value),
            in_flight=states.count(OrderState.ACCEPTED.value),
            duplicates=sum(count - 1 for count in brews if count > 1),
        )

    def ping(self) -> bool:
        return bool(self._client.ping())
