from __future__ import annotations

import calendar

import pytest

from orchestrator.errors import ValidationError
from orchestrator.scaling.alarms import (
    AlarmState,
    ComparisonOperator,
    MetricAlarm,
    TrackingAlarm,
    alarm_in_alarm,
    evaluate,
    target_tracking_alarm,
)
from orchestrator.scaling.cron import iso8601, parse_recurrence
from orchestrator.scaling.metrics import QueueBacklogMetric
from orchestrator.scaling.scheduled import ScheduledAction

SAT_0710 = calendar.timegm((2026, 11, 28, 7, 10, 0))  # a Saturday


@pytest.mark.parametrize(
    ("expression", "zone", "expected"),
    [
        ("0 9 * * *", "Etc/UTC", "2026-11-28T09:00:00Z"),
        ("0 9 * * *", "Europe/Paris", "2026-11-28T08:00:00Z"),  # CET is UTC+1 in November
        ("0 9 * * *", "America/New_York", "2026-11-28T14:00:00Z"),
        ("*/15 * * * *", "Etc/UTC", "2026-11-28T07:15:00Z"),
        ("30 8 * * MON-FRI", "Etc/UTC", "2026-11-30T08:30:00Z"),
        ("0 0 29 2 *", "Etc/UTC", "2028-02-29T00:00:00Z"),
        ("0 0 1 JAN *", "Etc/UTC", "2027-01-01T00:00:00Z"),
        ("0 12 * * 7", "Etc/UTC", "2026-11-29T12:00:00Z"),  # 7 is Sunday too
    ],
)
def test_recurrence_next_run(expression, zone, expected):
    assert iso8601(parse_recurrence(expression).next_after(SAT_0710, zone)) == expected


def test_both_day_fields_restricted_means_either_day():
    # the 1st of the month OR any Monday: Monday the 30th comes before December 1st
    after = parse_recurrence("0 0 1 * MON").next_after(SAT_0710, "Etc/UTC")
    assert iso8601(after) == "2026-11-30T00:00:00Z"


def test_daylight_saving_keeps_local_time():
    # Paris switches to CEST on 2027-03-28: 09:00 local is 08:00Z before, 07:00Z after
    before = calendar.timegm((2027, 3, 27, 10, 0, 0))
    recurrence = parse_recurrence("0 9 * * *")
    assert iso8601(recurrence.next_after(before, "Europe/Paris")) == "2027-03-28T07:00:00Z"


@pytest.mark.parametrize("expression", ["* * * *", "61 * * * *", "0 0 * FOO *", "5-1 * * * *"])
def test_bad_recurrences_are_refused(expression):
    with pytest.raises(ValidationError):
        parse_recurrence(expression)


def test_scheduled_action_validates_like_aws():
    with pytest.raises(ValidationError, match="At least one of MinSize"):
        ScheduledAction("g", "a", recurrence="0 9 * * *")
    with pytest.raises(ValidationError, match="Either StartTime or Recurrence"):
        ScheduledAction("g", "a", desired_capacity=1)
    with pytest.raises(ValidationError, match="Max bound, 1, must be greater"):
        ScheduledAction("g", "a", recurrence="0 9 * * *", min_size=2, max_size=1)
    with pytest.raises(ValidationError, match="Invalid time zone"):
        ScheduledAction("g", "a", recurrence="0 9 * * *", desired_capacity=1, time_zone="Mars/Base")


def test_one_time_action_is_due_once():
    action = ScheduledAction("g", "once", start_time=SAT_0710 + 60, desired_capacity=3)
    assert action.due(SAT_0710, SAT_0710 + 59) is None
    assert action.due(SAT_0710, SAT_0710 + 61) == SAT_0710 + 60
    assert action.due(SAT_0710 + 61, SAT_0710 + 3600) is None


def test_missed_runs_collapse_into_the_latest_and_end_time_stops_them():
    action = ScheduledAction(
        "g", "quarter", recurrence="*/15 * * * *", end_time=SAT_0710 + 3600, desired_capacity=2
    )
    # 07:15, 07:30, 07:45 and 08:00 fell in the window; the latest one is applied
    assert iso8601(action.due(SAT_0710, SAT_0710 + 3000)) == "2026-11-28T08:00:00Z"
    assert action.due(SAT_0710 + 3000, SAT_0710 + 7200) is None  # 08:15 is after EndTime


def _alarm(**options):
    return MetricAlarm(
        alarm_name="high-backlog",
        metric=QueueBacklogMetric("orders"),
        comparison_operator=ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        threshold=100,
        **options,
    )


def test_alarm_needs_m_of_the_last_n_datapoints():
    alarm = _alarm(evaluation_periods=3, datapoints_to_alarm=2)
    assert evaluate(alarm, []) is AlarmState.INSUFFICIENT_DATA
    assert evaluate(alarm, [150]) is AlarmState.INSUFFICIENT_DATA
    assert evaluate(alarm, [150, 20]) is AlarmState.OK
    assert evaluate(alarm, [150, 20, 100]) is AlarmState.ALARM
    assert evaluate(alarm, [150, 20, 50, 100]) is AlarmState.OK  # only the newest 3 count


def test_alarm_parameters_are_validated():
    with pytest.raises(ValidationError, match="DatapointsToAlarm"):
        _alarm(evaluation_periods=2, datapoints_to_alarm=3)
    with pytest.raises(ValidationError, match="EvaluationPeriods"):
        _alarm(evaluation_periods=0)


@pytest.mark.parametrize(
    ("operator", "value", "breaches"),
    [
        (ComparisonOperator.GREATER_THAN_THRESHOLD, 100, False),
        (ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, 100, True),
        (ComparisonOperator.LESS_THAN_THRESHOLD, 100, False),
        (ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD, 100, True),
        (ComparisonOperator.LESS_THAN_THRESHOLD, 99, True),
    ],
)
def test_comparison_operators(operator, value, breaches):
    assert operator.breaches(value, 100) is breaches


def test_a_day_field_starting_with_a_star_is_not_a_restriction_as_in_vixie_cron():
    # Odd days of the month AND Mondays: Monday 30 November is even, Monday 7 December is odd.
    after = parse_recurrence("0 0 */2 * MON").next_after(SAT_0710, "Etc/UTC")
    assert iso8601(after) == "2026-12-07T00:00:00Z"


def test_a_time_the_spring_change_skips_runs_once_right_after_the_gap():
    # 02:30 does not exist in Paris on 2027-03-28 (02:00 CET -> 03:00 CEST).
    recurrence = parse_recurrence("30 2 * * *")
    first = recurrence.next_after(calendar.timegm((2027, 3, 27, 12, 0, 0)), "Europe/Paris")
    assert iso8601(first) == "2027-03-28T01:00:00Z"  # 03:00 CEST
    assert first is not None
    assert iso8601(recurrence.next_after(first, "Europe/Paris")) == "2027-03-29T00:30:00Z"


@pytest.mark.parametrize(
    "expression", ["0 0 L * *", "0 0 1W * *", "0 0 * * 5#2", "0 0 ? * *", "H * * * *"]
)
def test_extensions_aws_does_not_take_are_refused(expression):
    with pytest.raises(ValidationError, match="Invalid"):
        parse_recurrence(expression)


@pytest.mark.parametrize(
    ("newest_first", "fired"),
    [
        ([60.0, 60.0], None),  # two above are not yet AlarmHigh
        ([60.0, 60.0, 60.0], TrackingAlarm.HIGH),
        ([60.0, 60.0, 50.0, 60.0], None),  # at the target does not breach
        ([40.0] * 14, None),  # AlarmLow needs 15
        ([40.0] * 15, TrackingAlarm.LOW),
        ([40.0] * 14 + [60.0], None),
        ([40.0] * 15 + [60.0], TrackingAlarm.LOW),  # only the newest 15 count
    ],
)
def test_target_tracking_owns_alarm_high_after_3_and_alarm_low_after_15(newest_first, fired):
    assert target_tracking_alarm(50.0, newest_first) is fired


def test_a_policy_runs_on_the_first_alarm_in_alarm_that_names_it():
    def alarm(name: str, threshold: float, *actions: str) -> MetricAlarm:
        return MetricAlarm(
            name,
            QueueBacklogMetric(name),
            ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold,
            alarm_actions=actions,
        )

    series = {"quiet": [5.0], "other": [500.0], "loud": [300.0, 1.0]}
    alarms = [alarm("quiet", 100.0, "p"), alarm("other", 100.0, "q"), alarm("loud", 100.0, "p")]
    fired = alarm_in_alarm(
        alarms, lambda action: action == "p", lambda key, n: series[key.split("=")[1]][:n]
    )
    assert fired is not None
    found, points = fired
    assert (found.alarm_name, list(points)) == ("loud", [300.0])
    assert alarm_in_alarm(alarms[:1], lambda action: action == "p", lambda key, n: [5.0]) is None
