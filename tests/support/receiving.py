"""Wait on conditions, not sleeps: receive until enough has arrived or a deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable

from broker_adapters import Delivery


def receive_until(
    receive: Callable[[], list[Delivery]],
    done: Callable[[list[Delivery]], bool],
    timeout: float = 30.0,
    ack: bool = True,
) -> list[Delivery]:
    """Call ``receive`` (which long-polls) until ``done(all received)`` or ``timeout``."""
    received: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while not done(received) and time.monotonic() < deadline:
        for delivery in receive():
            received.append(delivery)
            if ack:
                delivery.ack()
    return received


def receive_count(
    receive: Callable[[], list[Delivery]], count: int, timeout: float = 30.0, ack: bool = True
) -> list[Delivery]:
    return receive_until(receive, lambda got: len(got) >= count, timeout, ack)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll a condition that no broker call can block on (e.g. management statistics)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
