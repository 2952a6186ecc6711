"""The load generator's loop: offer orders on a schedule, post them from a small thread pool.

The offered rate is the pattern's, whatever the API does: posting happens on ``concurrency``
sender threads, and when all of them are busy (a slow or stuck API) the order is counted as
*dropped* rather than queued or waited for. Waiting would lower the offered rate without
saying so; queueing would hide the backlog in this process. The log says when it happens.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from services.loadgen.clock import day_offset
from services.loadgen.patterns import Pattern, PatternName, Schedule, day_hour
from services.loadgen.poster import Result, random_order
from services.metrics import LOADGEN_DROPPED, LOADGEN_REQUESTS, LOADGEN_TARGET_RATE

log = logging.getLogger(__name__)

# The longest the loop sleeps without looking again: how quickly a runtime pattern change
# or the end of ``duration`` is noticed (a stop interrupts any sleep at once).
MAX_SLEEP = 0.25


@dataclass
class Tally:
    """Counts since start. offered = dropped + sent + in flight; sent = the four results."""

    offered: int = 0
    dropped: int = 0
    accepted: int = 0
    rejected: int = 0
    unavailable: int = 0
    error: int = 0

    @property
    def sent(self) -> int:
        return self.accepted + self.rejected + self.unavailable + self.error

    def record(self, result: Result) -> None:
        # The result values are the field names: accepted, rejected, unavailable, error.
        setattr(self, result.value, getattr(self, result.value) + 1)

    def as_json(self) -> dict[str, int]:
        return asdict(self) | {
            "sent": self.sent,
            "in_flight": self.offered - self.dropped - self.sent,
        }


class LoadGenerator:
    """Offers random orders at ``pattern``'s rate to ``post`` until stopped or ``duration`` ends.

    ``post`` sends one JSON order and classifies the answer (``OrderPoster.post``); it is
    called from ``concurrency`` threads at once. ``set_pattern`` may be called from any
    thread; it restarts the pattern's clock at 0. With ``day_clock`` (the control plane's time,
    AWS seconds: ``clock.py``) a daily pattern starts at the hour that clock shows, each
    time it (re)starts, so its rush is the clock's 08:00.
    """

    def __init__(
        self,
        pattern: Pattern,
        post: Callable[[bytes], Result],
        *,
        concurrency: int = 4,
        report_interval: float = 10.0,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        day_clock: Callable[[], float] | None = None,
    ) -> None:
        self._post = post
        self._concurrency = concurrency
        self._report_interval = report_interval
        self._rng = random.Random(seed)  # noqa: S311 - orders, not secrets
        self._clock = clock
        self._day_clock = day_clock
        self._lock = threading.Lock()
        self._pattern = self._aligned(pattern)
        self._changed = True
        self._origin = clock()
        self._senders = threading.BoundedSemaphore(concurrency)
        self._dropping_said = False
        self.tally = Tally()
        self._last_report: tuple[float, int, int] = (clock(), 0, 0)  # at, offered, sent

    @property
    def pattern(self) -> Pattern:
        with self._lock:
            return self._pattern

    def _aligned(self, pattern: Pattern) -> Pattern:
        """A daily pattern set to start where the control plane's day is now."""
        if self._day_clock is None or pattern.pattern is not PatternName.DAILY:
            return pattern
        offset = day_offset(self._day_clock(), pattern.period)
        return pattern.model_copy(update={"day_offset": round(offset, 3)})

    def set_pattern(self, pattern: Pattern) -> None:
        pattern = self._aligned(pattern)
        with self._lock:
            self._pattern = pattern
            self._changed = True
        log.info("pattern changed", extra={"pattern": pattern.model_dump(mode="json")})

    def status(self) -> dict[str, Any]:
        """The pattern, its clock and the rate it asks for now (the side door shows this)."""
        with self._lock:
            pattern, elapsed = self._pattern, self._clock() - self._origin
        status = {
            **pattern.model_dump(mode="json"),
            "elapsed": round(elapsed, 3),
            "target_rate": round(pattern.rate_at(elapsed), 3),
            "aligned_to_clock": self._day_clock is not None,
        }
        if pattern.pattern is PatternName.DAILY:
            status["hour"] = round(day_hour(elapsed, pattern.period, pattern.day_offset), 3)
        return status

    def run(self, stopping: threading.Event, duration: float = 0.0) -> Tally:
        """Offer orders until ``stopping`` is set or ``duration`` seconds pass (0 = no limit).

        In-flight posts are waited for (each is bounded by the HTTP timeout) before returning.
        """
        started = self._clock()
        ends = started + duration if duration > 0 else float("inf")
        next_report = started + self._report_interval
        pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="loadgen-post")
        pattern, schedule, origin = self._pattern, Schedule(self._pattern.rate_at), started
        event: tuple[float, bool] | None = None
        try:
            while not stopping.is_set():
                now = self._clock()
                if now >= ends:
                    break
                if now >= next_report:
                    self._report(pattern, now - origin)
                    next_report += self._report_interval
                with self._lock:
                    if self._changed:
                        # Aligned again at the instant its clock restarts, not when it was set.
                        self._pattern = self._aligned(self._pattern)
                        pattern, self._changed = self._pattern, False
                        schedule, origin, event = Schedule(pattern.rate_at), now, None
                        self._origin = origin
                if event is None:
                    event = schedule.next_event()
                at, due = event
                delay = origin + at - now
                if delay > 0:
                    stopping.wait(min(delay, MAX_SLEEP, next_report - now, ends - now))
                    continue
                event = None
                LOADGEN_TARGET_RATE.set(pattern.rate_at(at))
                if due:
                    self._offer(pool)
        finally:
            pool.shutdown(wait=True)
            self._report(pattern, self._clock() - origin)
        return self.tally

    def _offer(self, pool: ThreadPoolExecutor) -> None:
        with self._lock:
            self.tally.offered += 1
        if not self._senders.acquire(blocking=False):
            LOADGEN_DROPPED.inc()
            with self._lock:
                self.tally.dropped += 1
                first, self._dropping_said = not self._dropping_said, True
            if first:
                log.warning(
                    "all senders busy: dropping orders instead of lowering the offered rate",
                    extra={"concurrency": self._concurrency},
                )
            return
        body = random_order(self._rng).model_dump_json().encode()
        pool.submit(self._send, body)

    def _send(self, body: bytes) -> None:
        try:
            result = self._post(body)
        except Exception:
            log.exception("posting an order failed unexpectedly")
            result = Result.ERROR
        finally:
            self._senders.release()
        LOADGEN_REQUESTS.labels(result=result.value).inc()
        with self._lock:
            self.tally.record(result)

    def _report(self, pattern: Pattern, elapsed: float) -> None:
        """One JSON line: totals so far and the offered and sent rates since the last line."""
        now = self._clock()
        with self._lock:
            counts = self.tally.as_json()
            dropping, self._dropping_said = self._dropping_said, False
            at, offered, sent = self._last_report
            self._last_report = (now, counts["offered"], counts["sent"])
        span = max(now - at, 1e-9)
        log.info(
            "load report",
            extra={
                "pattern": pattern.pattern.value,
                "target_rate": round(pattern.rate_at(elapsed), 3),
                "offered_per_s": round((counts["offered"] - offered) / span, 2),
                "sent_per_s": round((counts["sent"] - sent) / span, 2),
                **counts,
                "dropping": dropping,
            },
        )
