"""Load patterns as pure functions of time, and the schedule that turns a rate into send times.

``t`` is seconds since the pattern started (a runtime change restarts it). Rates are orders
per second. Nothing here sleeps or reads a clock, so the tests run a whole compressed day in
milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class PatternName(StrEnum):
    STEADY = "steady"
    SPIKE = "spike"
    RAMP = "ramp"
    DAILY = "daily"


def steady(_t: float, rate: float) -> float:
    return rate


def spike(t: float, rate: float, peak_rate: float, spike_at: float, spike_duration: float) -> float:
    """``rate``, then ``peak_rate`` during [spike_at, spike_at + spike_duration), then ``rate``."""
    return peak_rate if spike_at <= t < spike_at + spike_duration else rate


def ramp(t: float, rate: float, ramp_to: float, period: float) -> float:
    """Linear from ``rate`` to ``ramp_to`` over ``period`` seconds, then held at ``ramp_to``."""
    if t >= period:
        return ramp_to
    return rate + (ramp_to - rate) * max(t, 0.0) / period


# The compressed day: a morning rush at 08:00 and a smaller lunch peak at 12:30, each a
# Gaussian bump on the 24-hour circle (hours; centre, width, height relative to the morning).
DAY_PEAKS = ((8.0, 1.5, 1.0), (12.5, 1.25, 0.8))


def _day_shape(hour: float) -> float:
    total = 0.0
    for centre, width, height in DAY_PEAKS:
        distance = abs(hour - centre) % 24.0
        distance = min(distance, 24.0 - distance)
        total += height * math.exp(-(distance**2) / (2 * width**2))
    return total


_MORNING_PEAK = _day_shape(DAY_PEAKS[0][0])


def day_hour(t: float, period: float, offset: float = 0.0) -> float:
    """The hour of the compressed day (0 to 24) at ``t``."""
    return 24.0 * (((t + offset) % period) / period)


def daily(t: float, rate: float, peak_rate: float, period: float, offset: float = 0.0) -> float:
    """A day compressed into ``period`` seconds, ``offset`` seconds into it at ``t = 0``
    (0: at midnight), and repeating.

    ``rate`` at night (the minimum), ``peak_rate`` at the 08:00 rush, about 80 % of the way
    to the peak at 12:30 lunch, a dip between them; smooth, so scaling policies see a curve
    they can forecast rather than steps.
    """
    hour = day_hour(t, period, offset)
    return rate + (peak_rate - rate) * _day_shape(hour) / _MORNING_PEAK


class Pattern(BaseModel):
    """A load pattern and its parameters; crosses the side door as JSON, hence pydantic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pattern: PatternName = PatternName.STEADY
    rate: float = Field(default=5.0, ge=0, description="orders/s: steady, base, night minimum")
    peak_rate: float = Field(default=20.0, ge=0, description="orders/s in a spike or at 08:00")
    period: float = Field(default=300.0, gt=0, description="s: the ramp's length, or one day")
    spike_at: float = Field(default=60.0, ge=0)
    spike_duration: float = Field(default=30.0, ge=0)
    ramp_to: float = Field(default=20.0, ge=0)
    day_offset: float = Field(
        default=0.0,
        ge=0,
        description="s into the day at the pattern's start (daily); set from the control "
        "plane's clock when the load generator reads one",
    )

    def rate_at(self, t: float) -> float:
        match self.pattern:
            case PatternName.STEADY:
                return steady(t, self.rate)
            case PatternName.SPIKE:
                return spike(t, self.rate, self.peak_rate, self.spike_at, self.spike_duration)
            case PatternName.RAMP:
                return ramp(t, self.rate, self.ramp_to, self.period)
            case PatternName.DAILY:
                return daily(t, self.rate, self.peak_rate, self.period, self.day_offset)


class Schedule:
    """Absolute send times whose count tracks the integral of a time-varying rate.

    Each order earns its send time by accumulating one unit of ``rate * dt`` from the last
    one; in steady state that is ``next += 1 / rate``. Times are absolute, never "sleep
    1/rate after sending", so time spent sending does not lower the rate (no drift). When
    the gap would exceed ``max_step`` (a low or zero rate), the rate is re-read every
    ``max_step`` seconds, so a rise is noticed at once and a zero rate never divides.
    The k-th order goes out when the integral reaches k - 1/2 (the first after half an
    interval), so the count from 0 to any time is the integral rounded, with no bias.
    """

    def __init__(self, rate_at: Callable[[float], float], max_step: float = 0.1) -> None:
        self._rate_at = rate_at
        self._max_step = max_step
        self._t = 0.0
        self._credit = 0.5

    def next_event(self) -> tuple[float, bool]:
        """The next time to wake, and whether an order is due then (else only re-read)."""
        rate = max(self._rate_at(self._t), 0.0)
        needed = 1.0 - self._credit
        if rate > 0 and needed <= rate * self._max_step:
            self._t += needed / rate
            self._credit = 0.0
            return self._t, True
        self._credit += rate * self._max_step
        self._t += self._max_step
        return self._t, False
