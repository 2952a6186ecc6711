"""A realistic past for a metric: the coffee shop's day, so predictive scaling has history.

AWS needs 24 hours of a metric before predictive scaling forecasts; a user trying Barista
should not wait a day for it. ``barista cloudwatch seed-history`` writes these datapoints
through PutMetricData. The day has the load generator's shape (``services/loadgen``'s daily
pattern: a morning rush at 08:00 and a lunch peak at 12:30 at about 80 % of it, quiet nights),
restated here because the orchestrator never imports the services; with multiplicative noise
from a seeded generator, so a run is repeatable.
"""

from __future__ import annotations

import math
import random

DAY = 24 * 3600
DAY_PEAKS = ((8.0, 1.5, 1.0), (12.5, 1.25, 0.8))  # hour of the peak, width (h), height


def day_shape(hour: float) -> float:
    """The day's load relative to the 08:00 rush (1.0 there), for an hour of the day."""
    total = 0.0
    for centre, width, height in DAY_PEAKS:
        distance = abs(hour - centre) % 24.0
        distance = min(distance, 24.0 - distance)
        total += height * math.exp(-(distance**2) / (2 * width**2))
    return total / _MORNING


_MORNING = 1.0 + 0.8 * math.exp(-(4.5**2) / (2 * 1.25**2))  # the raw shape's value at 08:00


def coffee_shop_load(t: float, night: float, peak: float) -> float:
    """The load at AWS time ``t`` (epoch seconds, UTC days): ``night`` at 03:00, ``peak`` at
    the 08:00 rush."""
    hour = (t % DAY) / 3600
    return night + (peak - night) * day_shape(hour)


def seeded_history(
    start: float,
    end: float,
    *,
    period: int = 60,
    night: float = 5.0,
    peak: float = 150.0,
    noise: float = 0.1,
    seed: int = 0,
) -> list[tuple[float, float]]:
    """One datapoint per ``period`` from ``start`` to before ``end``: the day's load times
    (1 + a normal error with standard deviation ``noise``), never negative."""
    rng = random.Random(seed)  # noqa: S311 - repeatable noise, not secrets
    points = []
    t = start
    while t < end:
        value = coffee_shop_load(t, night, peak) * (1 + rng.gauss(0.0, noise))
        points.append((t, max(0.0, value)))
        t += period
    return points
