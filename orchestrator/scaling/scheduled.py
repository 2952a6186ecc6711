"""Scheduled actions: PutScheduledUpdateGroupAction and when each one is due.

An action sets any of MinSize, MaxSize and DesiredCapacity at a time: once at StartTime, or
on a cron ``Recurrence`` (from StartTime, until EndTime) in its ``TimeZone``. AWS validates
the three sizes against each other when they are given together, and against the group only
when the action runs; an action whose sizes would break the group's rules then fails and says
so in the activity history.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.errors import ValidationError
from orchestrator.scaling.cron import Recurrence, parse_recurrence, zone_info

UTC_ZONE = "Etc/UTC"


@dataclass(frozen=True)
class ScheduledAction:
    auto_scaling_group_name: str
    scheduled_action_name: str
    recurrence: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    time_zone: str = UTC_ZONE
    min_size: int | None = None
    max_size: int | None = None
    desired_capacity: int | None = None

    def __post_init__(self) -> None:
        if self.min_size is None and self.max_size is None and self.desired_capacity is None:
            raise ValidationError(
                "At least one of MinSize, MaxSize or DesiredCapacity must be specified."
            )
        if self.recurrence is None and self.start_time is None:
            raise ValidationError("Either StartTime or Recurrence must be specified.")
        if (
            self.start_time is not None
            and self.end_time is not None
            and self.end_time <= self.start_time
        ):
            raise ValidationError("End time must be after start time.")
        zone_info(self.time_zone)
        if self.recurrence is not None:
            parse_recurrence(self.recurrence)
        low, high, desired = self.min_size, self.max_size, self.desired_capacity
        if low is not None and high is not None and low > high:
            raise ValidationError(
                f"Max bound, {high}, must be greater than or equal to min bound, {low}"
            )
        if desired is not None and (
            (low is not None and desired < low) or (high is not None and desired > high)
        ):
            raise ValidationError(
                f"Desired capacity:{desired} must be between the specified min size:{low} "
                f"and max size:{high}"
            )

    @property
    def parsed_recurrence(self) -> Recurrence | None:
        return parse_recurrence(self.recurrence) if self.recurrence is not None else None

    def next_run_after(self, after: float) -> float | None:
        """The first run strictly after ``after``, or None once the action is spent."""
        recurrence = self.parsed_recurrence
        if recurrence is None:
            assert self.start_time is not None
            return self.start_time if self.start_time > after else None
        if self.start_time is not None and self.start_time > after:
            return self.start_time
        when = recurrence.next_after(after, self.time_zone)
        if when is None or (self.end_time is not None and when > self.end_time):
            return None
        return when

    def due(self, last_checked: float, now: float) -> float | None:
        """The latest run in (last_checked, now], if any: missed runs collapse into one,
        because applying the same sizes twice in a row changes nothing."""
        latest = None
        when = self.next_run_after(last_checked)
        while when is not None and when <= now:
            latest = when
            when = self.next_run_after(when)
        return latest
