"""What every controller's loop shares: a pass, a pause, and survival of a bad pass.

Controllers are level-triggered: each pass starts again from the store and the runtime, so a
pass that fails (Docker busy, HAProxy reloading, a broker restarting, a row mid-edit) is logged
and simply retried on the next tick instead of stopping the control plane.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

S = TypeVar("S")


def run_passes(
    one_pass: Callable[[], object], stopping: threading.Event, interval: float, what: str
) -> None:
    """Call ``one_pass`` every ``interval`` seconds until ``stopping`` is set."""
    while not stopping.is_set():
        try:
            one_pass()
        except Exception:
            log.exception("%s pass failed; retrying", what)
        stopping.wait(interval)


class PerThread(Generic[S]):
    """One store per calling thread, opened on first use.

    A controller is called from its own loop and from other threads (the Auto Scaling
    controller's hooks, the API), and a SQLite connection belongs to the thread that opened it.
    """

    def __init__(self, open_store: Callable[[], S], close_store: Callable[[S], None]) -> None:
        self._open = open_store
        self._close = close_store
        self._local = threading.local()

    def get(self) -> S:
        store: S | None = getattr(self._local, "store", None)
        if store is None:
            store = self._open()
            self._local.store = store
        return store

    def close(self) -> None:
        """Close the calling thread's store (other threads close theirs)."""
        store: S | None = getattr(self._local, "store", None)
        if store is not None:
            self._close(store)
            self._local.store = None
