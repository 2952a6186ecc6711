"""A share consumer's close is bounded: librdkafka's can wait for ever, and a broker's close
(a test's teardown, an orchestrator's shutdown) must not wait with it."""

from __future__ import annotations

import threading
from typing import Any, cast

from broker_adapters.kafka.share import _close_bounded


class Consumer:
    def __init__(self, returns: threading.Event | None = None) -> None:
        self.returns = returns
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        if self.returns is not None:
            self.returns.wait()


def test_a_close_that_returns_is_waited_for() -> None:
    consumer = Consumer()
    assert _close_bounded(cast(Any, consumer), "orders", timeout=5) is True
    assert consumer.closed.is_set()


def test_a_close_that_hangs_is_left_behind_after_the_timeout() -> None:
    release = threading.Event()
    consumer = Consumer(returns=release)
    try:
        # close() blocks until ``release``: returning at all means the caller did not wait.
        assert _close_bounded(cast(Any, consumer), "orders", timeout=0.2) is False
        assert consumer.closed.is_set(), "close was called"
    finally:
        release.set()
