"""Receiving helpers for the experiments: drain until a condition, and competing consumers.

Every wait is on a condition with a deadline. Where what is measured is "nothing more
arrives" (duplicates, extra deliveries), the listening window is a named constant and the
table says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from broker_adapters import Broker, Delivery
from orchestrator.compare.opening import open_broker

# How long "nothing more arrives" is listened for after the expected messages came.
QUIET_WINDOW = 1.0
# Upper bound for any single wait on messages that should arrive.
ARRIVAL_TIMEOUT = 30.0


def drain(
    receive: Callable[[], list[Delivery]],
    done: Callable[[list[Delivery]], bool],
    timeout: float = ARRIVAL_TIMEOUT,
    quiet: float = 0.0,
    ack: bool = True,
) -> list[Delivery]:
    """Call ``receive`` (a long poll) until ``done(received)`` or ``timeout``; then keep
    receiving until ``quiet`` seconds pass with nothing new, to count extra copies."""
    received: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while not done(received) and time.monotonic() < deadline:
        received.extend(_settled(receive(), ack))
    quiet_until = time.monotonic() + quiet
    while time.monotonic() < quiet_until:
        more = _settled(receive(), ack)
        if more:
            received.extend(more)
            quiet_until = time.monotonic() + quiet
    return received


def _settled(deliveries: list[Delivery], ack: bool) -> list[Delivery]:
    if ack:
        for delivery in deliveries:
            delivery.ack()
    return deliveries


# Handles one delivery on consumer ``index``; it acks, nacks or holds it.
Handler = Callable[[int, Delivery], None]


class CompetingConsumers:
    """``count`` consumers of one queue, each its own connection and thread.

    ``start`` returns once every consumer has finished one receive, which on Kafka means it
    has joined the group and the group has rebalanced, so messages sent afterwards are shared
    by all of them.
    """

    def __init__(self, url: str, queue: str, handler: Handler, count: int = 2) -> None:
        self.queue = queue
        self._handler = handler
        self._brokers: list[Broker] = []
        self._url = url
        self._count = count
        self._ready = [threading.Event() for _ in range(count)]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self, declare: Callable[[Broker], None], timeout: float = ARRIVAL_TIMEOUT) -> None:
        """Connect, declare the queue on each connection, and start receiving."""
        for _ in range(self._count):
            broker = open_broker(self._url)
            self._brokers.append(broker)
            declare(broker)
        for index in range(self._count):
            thread = threading.Thread(target=self._work, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        deadline = time.monotonic() + timeout
        for event in self._ready:
            if not event.wait(max(0.0, deadline - time.monotonic())):
                break
        self.raise_errors()
        if not all(event.is_set() for event in self._ready):
            raise TimeoutError(f"competing consumers of {self.queue!r} did not start in time")

    def _work(self, index: int) -> None:
        broker = self._brokers[index]
        try:
            while not self._stop.is_set():
                for delivery in broker.receive(self.queue, 1, wait=0.5):
                    self._handler(index, delivery)
                self._ready[index].set()
        except BaseException as error:  # reported by the thread that called start/stop
            self.errors.append(error)
            self._ready[index].set()

    def raise_errors(self) -> None:
        if self.errors:
            raise self.errors[0]

    def stop(self) -> None:
        """Stop receiving and close every connection (unsettled messages go back)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        for broker in self._brokers:
            broker.close()
        self._brokers.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_until(condition: Callable[[], bool], timeout: float = ARRIVAL_TIMEOUT) -> bool:
    """Wait for a condition that consumer threads make true (no broker call to block on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def listen_quietly(
    count: Callable[[], int], window: float = QUIET_WINDOW, limit: float = 5 * QUIET_WINDOW
) -> None:
    """Return once ``count()`` (deliveries so far) stayed unchanged for ``window`` seconds,
    or after ``limit``: consumer threads go on receiving meanwhile, so copies show up."""
    last = count()
    quiet_until = time.monotonic() + window
    hard_stop = time.monotonic() + limit
    while time.monotonic() < min(quiet_until, hard_stop):
        time.sleep(0.05)
        current = count()
        if current != last:
            last, quiet_until = current, time.monotonic() + window
