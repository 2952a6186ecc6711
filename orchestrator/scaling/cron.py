"""The five-field cron expressions of PutScheduledUpdateGroupAction's ``Recurrence``.

``minute hour day-of-month month day-of-week``, Unix cron as AWS documents it: ``*``, lists,
ranges, steps (``*/15``, ``8-18/2``), month and day names (``JAN``, ``MON``), Sunday as 0 or 7,
and the classic rule that when both day fields are restricted a day matching *either* runs.
Times are evaluated in the action's time zone (IANA name, UTC by default), so ``0 9 * * *``
in Europe/Paris runs at 09:00 Paris time across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestrator.errors import ValidationError

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_DAYS = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
}
_SEARCH_DAYS = 366 * 5  # reaches the next Feb 29 on any weekday; bounded so impossible dates end


def _value(token: str, names: dict[str, int]) -> int:
    return names[token] if token in names else int(token)


def _field(text: str, low: int, high: int, names: dict[str, int], label: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                first, last = base.split("-", 1)
                start, end = _value(first, names), _value(last, names)
            else:
                start = _value(base, names)
                end = high if step_text else start
        except ValueError:
            raise ValidationError(f"Invalid {label} field in recurrence: {text!r}.") from None
        if step < 1 or not (low <= start <= high and low <= end <= high) or start > end:
            raise ValidationError(f"Invalid {label} field in recurrence: {text!r}.")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Recurrence:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday
    day_of_month_restricted: bool
    day_of_week_restricted: bool

    def _day_matches(self, day: datetime) -> bool:
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if self.day_of_month_restricted and self.day_of_week_restricted:
            return dom or dow
        return dom and dow

    def next_after(self, after: float, time_zone: str = "UTC") -> float | None:
        """The first run strictly after ``after`` (epoch seconds), or None within 5 years."""
        zone = zone_info(time_zone)
        local = datetime.fromtimestamp(after, zone).replace(second=0, microsecond=0, tzinfo=None)
        local += timedelta(minutes=1)
        limit = local + timedelta(days=_SEARCH_DAYS)
        while local < limit:
            if local.month not in self.months:
                year, month = divmod(local.month, 12)
                local = local.replace(year=local.year + year, month=month + 1, day=1, hour=0)
                local = local.replace(minute=0)
            elif not self._day_matches(local):
                local = (local + timedelta(days=1)).replace(hour=0, minute=0)
            elif local.hour not in self.hours:
                local = (local + timedelta(hours=1)).replace(minute=0)
            elif local.minute not in self.minutes:
                local += timedelta(minutes=1)
            else:
                when = local.replace(tzinfo=zone).timestamp()
                if when > after:
                    return when
                local += timedelta(minutes=1)
        return None


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Invalid time zone: {name}.") from None


def parse_recurrence(expression: str) -> Recurrence:
    fields = expression.split()
    if len(fields) != 5:
        raise ValidationError(
            f"Recurrence {expression!r} must have five fields: minute hour day-of-month month "
            "day-of-week."
        )
    minute, hour, dom, month, dow = fields
    days_of_week = _field(dow, 0, 7, _DAYS, "day-of-week")
    if 7 in days_of_week:
        days_of_week = (days_of_week - {7}) | {0}
    return Recurrence(
        expression=expression,
        minutes=_field(minute, 0, 59, {}, "minute"),
        hours=_field(hour, 0, 23, {}, "hour"),
        days_of_month=_field(dom, 1, 31, {}, "day-of-month"),
        months=_field(month, 1, 12, _MONTHS, "month"),
        days_of_week=days_of_week,
        day_of_month_restricted=dom != "*",
        day_of_week_restricted=dow != "*",
    )


def iso8601(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
