"""A bounded memory of ids seen, for the roles that must recognise a redelivered event."""

from __future__ import annotations

from collections import OrderedDict

# Roles remember this many order ids to ignore repeats; a repeat older than that (hours of
# traffic in the demo) would count twice, which is the price of bounded memory.
REMEMBERED_ORDERS = 10_000


class RecentIds:
    """A bounded memory of ids seen, oldest forgotten first, to recognise redeliveries."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True
