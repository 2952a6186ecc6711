"""The orchestrator's clock: AWS time, compressed by ``time_scale`` for a watchable demo.

Every duration the control plane compares (grace periods, cooldowns, warm-ups, alarm periods,
cron schedules) keeps AWS's value and unit. Instead of dividing each one, the whole control
plane reads a clock that runs ``time_scale`` times faster than the wall clock:

    aws_now = origin + (wall_now - origin) x time_scale

``origin`` is fixed once per store (its first start) and kept there, so a restarted
orchestrator reads the same AWS time as its predecessor and the launch times on container
labels keep their meaning. At ``time_scale`` 1 the clock *is* the wall clock.

Durations that bound real work are not scaled: a barista's stopTimeout still gives it real
seconds to finish the cup in its hands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.time_scale import TimeScale


@dataclass(frozen=True)
class ScaledClock:
    origin: float
    scale: TimeScale = field(default_factory=TimeScale)
    wall: Callable[[], float] = time.time

    def __call__(self) -> float:
        return self.origin + (self.wall() - self.origin) * self.scale.time_scale

    def wall_seconds(self, aws_seconds: float) -> float:
        """How long to really wait for ``aws_seconds`` of AWS time to pass."""
        return self.scale.scaled(aws_seconds)
