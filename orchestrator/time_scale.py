"""Compressing AWS's durations for a demo without changing what they mean.

Barista keeps AWS's names, units and defaults (DefaultCooldown is 300 *seconds*, warm-up is in
seconds), so a policy reads exactly as it would in AWS. A demo that cannot wait five minutes
sets a ``time_scale``; only the caller that turns a duration into wall-clock waiting divides by
it. The scaling arithmetic never sees the scale: it compares ``now`` with AWS-unit durations,
and a caller running compressed time passes a correspondingly compressed clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.errors import ValidationError


@dataclass(frozen=True)
class TimeScale:
    """How many times faster than real time the demo runs; 1.0 is AWS's own pace."""

    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValidationError(f"time_scale must be positive, got {self.time_scale}.")

    def scaled(self, seconds: float) -> float:
        """Wall-clock seconds to wait for an AWS duration of ``seconds``: ``seconds ÷ scale``."""
        return seconds / self.time_scale
