"""The five-field cron expressions of PutScheduledUpdateGroupAction's ``Recurrence``.

``minute hour day-of-month month day-of-week``, Unix cron as AWS documents it: ``*``, lists,
ranges, steps (``*/15``, ``8-18/2``), month and day names (``JAN``, ``MON``), Sunday as 0 or 7,
and Vixie cron's rule that when both day fields are restricted a day matching *either* runs
(a field starting with ``*``, such as ``*/2``, is not a restriction). Times are evaluated in the
action's time zone (IANA name, UTC by default), so ``0 9 * * *`` in Europe/Paris runs at 09:00
Paris time across daylight-saving changes; a time the spring change skips runs at the first
minute after the gap, once, as Vixie cron does.

The schedule arithmetic is cronsim's (the cron engine of Healthchecks.io, tested against
Vixie cron, daylight saving included): a hand-written parser had Vixie's ``*/2`` rule wrong and
its own daylight-saving code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from orchestrator.errors import ValidationError

_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NAMES = frozenset(_MONTH_NAMES + _DAY_NAMES)
_WORD = re.compile(r"[A-Za-z]+")
_PLAIN = re.compile(r"[0-9*,/-]*")


@dataclass(frozen=True)
class Recurrence:
    """A checked cron expression; ``next_after`` finds its runs."""

    expression: str

    def next_after(self, after: float, time_zone: str = "UTC") -> float | None:
        """The first run strictly after ``after`` (epoch seconds), or None if there is none."""
        start = datetime.fromtimestamp(after, zone_info(time_zone))
        for run in CronSim(self.expression, start):
            when = run.timestamp()
            if when > after:
                return when
        return None


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Invalid time zone: {name}.") from None


def _check_plain_cron(expression: str, fields: list[str]) -> None:
    """Refuse what cronsim reads but Unix cron (and so AWS) does not: Quartz's ``L``, ``W``,
    ``#`` and ``?``, Jenkins' ``H``, and any word that is not a month or day name."""
    for label, field in zip(_FIELD_NAMES, fields, strict=True):
        bare = _WORD.sub(lambda word: "" if word.group().upper() in _NAMES else "!", field)
        if not _PLAIN.fullmatch(bare):
            raise ValidationError(f"Invalid {label} field in recurrence: {expression!r}.")


def parse_recurrence(expression: str) -> Recurrence:
    fields = expression.split()
    if len(fields) != len(_FIELD_NAMES):
        raise ValidationError(
            f"Recurrence {expression!r} must have five fields: minute hour day-of-month month "
            "day-of-week."
        )
    _check_plain_cron(expression, fields)
    try:
        CronSim(expression, datetime.now(UTC))
    except CronSimError as error:
        # cronsim says "Bad minute", "Bad day-of-month", …: name the field as AWS does.
        field = str(error).removeprefix("Bad ")
        if field in _FIELD_NAMES:
            raise ValidationError(f"Invalid {field} field in recurrence: {expression!r}.") from None
        raise ValidationError(f"Invalid recurrence {expression!r}: {error}.") from None
    return Recurrence(expression)


def iso8601(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
