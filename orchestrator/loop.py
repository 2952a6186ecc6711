"""What every controller's loop shares: a pass, a pause, survival of a bad pass, and the
bounded pool a pass starts containers on (``in_order``).

Controllers are level-triggered: each pass starts again from the store and the runtime, so a
pass that fails (Docker busy, HAProxy reloading, a broker restarting, a row mid-edit) is logged
and simply retried on the next tick instead of stopping the control plane.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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


T = TypeVar("T")
R = TypeVar("R")

# How many runtime calls that start things (a container's create + start) one pass runs at
# once. Why 8: the pass's time is mostly the engine's (dockerd creates the container, sets up
# its network namespace and starts its shim, much of it serialised inside the daemon on this
# 2-core machine), so past a handful of requests in flight more only queue in dockerd; and the
# Docker SDK keeps at most 10 connections to the engine per client (its DEFAULT_MAX_POOL_SIZE),
# which the pass's own listing calls share. Measured (a pass launching 50 on Docker 20.10, 2
# cores): 13.1 s one at a time, 6.7 s with 4, 6.1 s with 8, 7.9 s with 16 (BENCHMARKS.md).
START_CONCURRENCY = 8


def in_order(call: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``call`` on each item, at most ``workers`` at once, yielding the results in the items'
    order, each as soon as it and every one before it have finished.

    Results come back in order so that a controller records what it did in the order it
    planned, as soon as it can (a controller killed mid-batch leaves at most ``workers``
    started and unrecorded, each a thing its next pass finds). ``call`` runs on worker threads
    and must not touch the caller's SQLite store; an exception it raises is raised here, at its
    item, after the calls before it were yielded; calls not yet begun are then cancelled. With
    one worker, or one item, everything runs on the calling thread, in order (what
    deterministic tests of a controller need).
    """
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield call(item)
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="start")
    try:
        futures = [pool.submit(call, item) for item in items]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
