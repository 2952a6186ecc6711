"""One clock for the demo: the load generator's day is a day of the control plane's clock.

The orchestrator's clock runs ``time_scale`` times faster than the wall clock from an origin of
its own (``orchestrator/clock.py``), and its dashboard shows that time. A day there lasts
``86400 / time_scale`` wall seconds, so that is the daily pattern's default period, and the
pattern starts at the hour the orchestrator's clock shows: the morning rush comes when the
dashboard's clock says 08:00.

The load generator reads the clock once (``GET {BARISTA_CLOCK_URL}``, which answers ``now`` in
AWS seconds and ``time_scale``) and extrapolates: both clocks run at a constant rate from the
same wall clock, so one reading stays right. A clock that does not answer leaves the day
starting at midnight when the pattern starts, with a warning: the load still flows.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

DAY = 86400.0
READ_TIMEOUT = 2.0
READ_ATTEMPTS = 10
RETRY_SECONDS = 1.0


def day_length(time_scale: float) -> float:
    """Wall seconds one day of the scaled clock lasts."""
    return DAY / time_scale


def day_offset(aws_now: float, period: float) -> float:
    """Where in a ``period``-second day the scaled clock's time of day (UTC) falls."""
    return (aws_now % DAY) / DAY * period


@dataclass(frozen=True)
class ScaledClockReading:
    """The control plane's clock read once: ``aws_now`` when the wall clock said ``wall``."""

    aws_now: float
    wall: float
    time_scale: float

    def now(self, wall: float | None = None) -> float:
        at = time.time() if wall is None else wall
        return self.aws_now + (at - self.wall) * self.time_scale


def read_clock(
    url: str,
    attempts: int = READ_ATTEMPTS,
    wait: Callable[[float], object] = time.sleep,
) -> ScaledClockReading | None:
    """The clock at ``url``, or None (and a warning) when it does not answer in ``attempts``."""
    problem = ""
    for attempt in range(attempts):
        if attempt:
            wait(RETRY_SECONDS)
        try:
            with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response:  # noqa: S310
                answer = json.loads(response.read())
            wall = time.time()
            reading = ScaledClockReading(float(answer["now"]), wall, float(answer["time_scale"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            problem = f"{type(error).__name__}: {error}"
            continue
        if reading.time_scale <= 0:
            problem = f"time_scale {reading.time_scale} is not positive"
            continue
        return reading
    log.warning(
        "the control plane's clock does not answer: the day starts at midnight now",
        extra={"clock_url": url, "reason": problem},
    )
    return None
