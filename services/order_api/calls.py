"""Blocking broker and ledger calls from async handlers: a deadline each, and a cap on threads.

``starlette.concurrency.run_in_threadpool`` cannot be cancelled (it waits for its thread), so
a hung broker would hold a request past ``broker_timeout``. Here the waiting request gives
up at its deadline and *abandons* the thread: the call runs its course (the adapter's own
timeout bounds it) and its result is dropped.

Abandoned threads still run, and during an outage every request would add one. So the
number of calls still running, abandoned ones included, is capped: past the cap a call is
refused at once (``Saturated``) instead of starting another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class Saturated(RuntimeError):
    """Too many blocking calls are still running (the broker or ledger is not answering)."""


class _Abandoned(Exception):
    """Raised in a worker thread whose caller gave up before the call began; never seen."""


class BlockingCalls:
    """Runs blocking calls on worker threads with a deadline; at most ``limit`` at a time."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self._running = 0
        self._lock = threading.Lock()

    @property
    def running(self) -> int:
        """Calls started and not yet returned, abandoned ones included."""
        with self._lock:
            return self._running

    async def run(self, seconds: float, call: Callable[[], T]) -> T:
        """``call()`` on a worker thread; TimeoutError after ``seconds``, Saturated at the cap.

        A call that timed out may still complete afterwards: a send abandoned here can be
        confirmed by the broker later. Callers must treat a timeout as "unknown", not "no".
        """
        with self._lock:
            if self._running >= self.limit:
                raise Saturated(f"{self._running} blocking calls still running (cap {self.limit})")
            self._running += 1
        # Who releases the slot: the thread once it began, else the caller that gave up.
        began = False
        given_up = False

        def tracked() -> T:
            nonlocal began
            with self._lock:
                if given_up:
                    raise _Abandoned
                began = True
            try:
                return call()
            finally:
                self._release()

        try:
            with anyio.fail_after(seconds):
                return await anyio.to_thread.run_sync(tracked, abandon_on_cancel=True)
        except BaseException:
            with self._lock:
                if not began:
                    given_up = True
                    self._running -= 1
            raise

    def _release(self) -> None:
        with self._lock:
            self._running -= 1
