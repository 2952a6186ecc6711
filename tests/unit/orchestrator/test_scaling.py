"""Scaling-policy arithmetic against the examples in AWS's EC2 Auto Scaling user guide."""

from __future__ import annotations

import calendar

import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.errors import ValidationError
from orchestrator.scaling import (
    AdjustmentType,
    ASGAverageCPUUtilization,
    BacklogPerInstance,
    GroupSnapshot,
    SimpleScalingPolicy,
    StepAdjustment,
    StepScalingPolicy,
    TargetTrackingConfiguration,
    TimeScale,
    backlog_per_instance,
    backlog_per_instance_target,
    percent_change,
    simple_scaling_decision,
    step_scaling_decision,
    target_tracking_decision,
)
from orchestrator.scaling.decision import ceil_capacity

NOW = float(calendar.timegm((2026, 11, 28, 6, 0, 0)))
LONG_AGO = NOW - 3600  # every instance that entered service then has finished warming up
PERCENT = AdjustmentType.PERCENT_CHANGE_IN_CAPACITY


def group(desired, *, warmed=None, warming=0, min_size=0, max_size=100, **kwargs):
    """A group whose first ``warmed`` instances are past warm-up and the rest just started."""
    warmed = desired if warmed is None else warmed
    since = (LONG_AGO,) * warmed + (NOW,) * warming
    return GroupSnapshot(
        min_size=min_size,
        max_size=max_size,
        desired_capacity=desired,
        in_service_since=since,
        **kwargs,
    )


def track(config, snapshot, metric):
    return target_tracking_decision(
        config, snapshot, metric, auto_scaling_group_name="workers", policy_name="tt", now=NOW
    )


# --- target tracking -------------------------------------------------------------------------


def test_backlog_target_is_acceptable_latency_over_processing_time():
    assert backlog_per_instance_target(10, 0.1) == pytest.approx(100)
    with pytest.raises(ValidationError):
        backlog_per_instance_target(10, 0)


def test_backlog_per_instance_divides_by_in_service():
    assert backlog_per_instance(1500, 2) == 750
    assert backlog_per_instance(5, 0) == float("inf")
    assert backlog_per_instance(0, 0) == 0


def test_backlog_1500_with_target_100_scales_out_to_15():
    decision = track(TargetTrackingConfiguration(100), group(2), BacklogPerInstance(1500))
    assert decision.desired_capacity == 15
    assert decision.cause.startswith(
        "At 2026-11-28T06:00:00Z a monitor alarm TargetTracking-workers-AlarmHigh-"
    )
    assert decision.cause.endswith(
        "in state ALARM triggered policy tt changing the desired capacity from 2 to 15."
    )


def test_cpu_80_with_target_50_on_two_instances_scales_out_to_4():
    decision = track(TargetTrackingConfiguration(50), group(2), ASGAverageCPUUtilization(80))
    assert decision.desired_capacity == 4


@pytest.mark.parametrize(("backlog", "expected"), [(30, 1), (450, 5)])
def test_backlog_on_an_empty_group_launches_workers(backlog, expected):
    decision = track(TargetTrackingConfiguration(100), group(0), BacklogPerInstance(backlog))
    assert decision.desired_capacity == expected


def test_empty_queue_on_an_empty_group_changes_nothing():
    assert not track(TargetTrackingConfiguration(100), group(0), BacklogPerInstance(0)).changes


def test_target_tracking_clamps_to_max_size():
    config = TargetTrackingConfiguration(100)
    assert track(config, group(2, max_size=10), BacklogPerInstance(1500)).desired_capacity == 10
    assert not track(config, group(10, max_size=10), BacklogPerInstance(1500)).changes


def test_warming_instances_are_left_out_of_the_backlog_denominator():
    # 1 warmed + 1 warming: backlog per instance is 500, not 250, so 5 are needed.
    snapshot = group(2, warmed=1, warming=1)
    decision = track(TargetTrackingConfiguration(100), snapshot, BacklogPerInstance(500))
    assert decision.desired_capacity == 5


def test_scale_out_while_warming_adds_only_what_exceeds_warming_capacity():
    config = TargetTrackingConfiguration(50, estimated_instance_warmup=300)
    snapshot = group(4, warmed=2, warming=2)  # an earlier scale-out from 2 to 4 is warming
    covered = track(config, snapshot, ASGAverageCPUUtilization(90))  # needs ceil(180/50) = 4
    assert covered.desired_capacity is None
    assert "already covers" in covered.cause
    assert track(config, snapshot, ASGAverageCPUUtilization(150)).desired_capacity == 6


def test_pending_and_unlaunched_capacity_counts_as_warming():
    snapshot = GroupSnapshot(
        min_size=0, max_size=10, desired_capacity=3, in_service_since=(LONG_AGO, None)
    )
    assert snapshot.warmed_up(NOW, 300) == 1
    assert snapshot.warming(NOW, 300) == 2


def test_warmup_falls_back_to_default_instance_warmup_then_default_cooldown():
    assert group(1).instance_warmup(None) == 300
    assert group(1, default_cooldown=120).instance_warmup(None) == 120
    assert group(1, default_instance_warmup=60).instance_warmup(None) == 60
    assert group(1, default_instance_warmup=60).instance_warmup(0) == 0


def test_warmup_ends_at_in_service_plus_warmup():
    snapshot = GroupSnapshot(0, 10, 1, in_service_since=(NOW - 300,))
    assert snapshot.warmed_up(NOW, 300) == 1
    assert snapshot.warmed_up(NOW - 1, 300) == 0


def test_scale_in_removes_one_instance_while_the_rest_stay_under_target():
    config = TargetTrackingConfiguration(50)
    decision = track(config, group(4), ASGAverageCPUUtilization(20))  # 80 % of load over 3
    assert decision.desired_capacity == 3
    assert "TargetTracking-workers-AlarmLow-" in decision.cause


def test_scale_in_waits_when_one_fewer_would_breach_the_target():
    decision = track(TargetTrackingConfiguration(50), group(4), ASGAverageCPUUtilization(40))
    assert decision.desired_capacity is None  # 160 over 3 instances is 53 %


def test_scale_in_to_the_exact_target_is_allowed():
    decision = track(TargetTrackingConfiguration(100), group(3), BacklogPerInstance(200))
    assert decision.desired_capacity == 2  # 200 over 2 is exactly the target


def test_disable_scale_in_never_removes_capacity():
    config = TargetTrackingConfiguration(50, disable_scale_in=True)
    decision = track(config, group(4), ASGAverageCPUUtilization(1))
    assert decision.desired_capacity is None
    assert "disabled" in decision.cause
    assert track(config, group(2), ASGAverageCPUUtilization(80)).desired_capacity == 4


def test_scale_in_is_blocked_while_instances_warm_up():
    snapshot = group(4, warmed=3, warming=1)
    decision = track(TargetTrackingConfiguration(50), snapshot, ASGAverageCPUUtilization(5))
    assert decision.desired_capacity is None
    assert "warming up" in decision.cause


def test_scale_in_stops_at_min_size():
    decision = track(TargetTrackingConfiguration(50), group(2, min_size=2), BacklogPerInstance(0))
    assert decision.desired_capacity is None


def test_metric_at_target_changes_nothing():
    assert not track(
        TargetTrackingConfiguration(50), group(2), ASGAverageCPUUtilization(50)
    ).changes


def test_cpu_with_no_instance_past_warmup_is_insufficient_data():
    snapshot = group(2, warmed=0, warming=2)
    assert not track(
        TargetTrackingConfiguration(50), snapshot, ASGAverageCPUUtilization(99)
    ).changes


def test_target_value_must_be_positive():
    with pytest.raises(ValidationError):
        TargetTrackingConfiguration(0)


def test_ceil_ignores_float_noise():
    assert ceil_capacity(3.0000000000000004) == 3
    assert ceil_capacity(3.01) == 4


# --- step scaling ----------------------------------------------------------------------------

# AWS's example: alarm threshold 50, PercentChangeInCapacity.
SCALE_OUT = StepScalingPolicy(
    "scale-out",
    PERCENT,
    (
        StepAdjustment(0, 0, 10),
        StepAdjustment(10, 10, 20),
        StepAdjustment(30, 20, None),
    ),
)
SCALE_IN = StepScalingPolicy(
    "scale-in",
    PERCENT,
    (
        StepAdjustment(0, -10, 0),
        StepAdjustment(-10, -20, -10),
        StepAdjustment(-30, None, -20),
    ),
)


def step(policy, snapshot, metric_value, threshold=50.0):
    return step_scaling_decision(
        policy, snapshot, metric_value=metric_value, threshold=threshold, alarm_name="cpu", now=NOW
    )


def test_aws_step_scaling_example_walks_10_11_14_13_10():
    assert step(SCALE_OUT, group(10), 60).desired_capacity == 11  # +10 % of 10
    assert step(SCALE_OUT, group(11), 70).desired_capacity == 14  # +30 % of 11 = 3.3 → 3
    assert step(SCALE_IN, group(14), 40).desired_capacity == 13  # -10 % of 14 = -1.4 → -1
    assert step(SCALE_IN, group(13), 30).desired_capacity == 10  # -30 % of 13 = -3.9 → -3


def test_step_cause_reads_like_aws():
    assert step(SCALE_OUT, group(10), 60).cause == (
        "At 2026-11-28T06:00:00Z a monitor alarm cpu in state ALARM triggered policy scale-out "
        "changing the desired capacity from 10 to 11."
    )


def test_metric_in_the_zero_step_changes_nothing():
    assert not step(SCALE_OUT, group(10), 55).changes
    assert not step(SCALE_IN, group(10), 45).changes


@pytest.mark.parametrize(
    ("policy", "breach", "adjustment"),
    [
        (SCALE_OUT, 10, 10),  # above: lower bound inclusive
        (SCALE_OUT, 9.99, 0),
        (SCALE_OUT, 20, 30),
        (SCALE_OUT, 0, 0),
        (SCALE_IN, -9.99, 0),
        (SCALE_IN, -10, -10),  # below: upper bound inclusive, lower exclusive
        (SCALE_IN, -19.99, -10),
        (SCALE_IN, -20, -30),
        (SCALE_IN, 0, 0),
    ],
)
def test_step_bounds_follow_aws_inclusivity(policy, breach, adjustment):
    chosen = policy.step_for(breach)
    assert chosen is not None
    assert chosen.scaling_adjustment == adjustment


def test_breach_outside_every_step_changes_nothing():
    assert SCALE_OUT.step_for(-5) is None
    assert not step(SCALE_OUT, group(10), 45).changes


def test_step_scale_out_ignores_warming_capacity_as_in_aws_example():
    warming = group(11, warmed=10, warming=1)  # +10 % at 60 already added one instance
    assert step(SCALE_OUT, warming, 62).desired_capacity is None
    assert step(SCALE_OUT, warming, 70).desired_capacity == 13  # +30 % of 10, only 2 more


def test_step_scale_in_is_blocked_while_instances_warm_up():
    decision = step(SCALE_IN, group(11, warmed=10, warming=1), 30)
    assert decision.desired_capacity is None
    assert "warming" in decision.cause


def test_step_scaling_clamps_to_max_size():
    assert step(SCALE_OUT, group(10, max_size=12), 90).desired_capacity == 12


def test_change_in_capacity_and_exact_capacity_steps():
    add = StepScalingPolicy("add", AdjustmentType.CHANGE_IN_CAPACITY, (StepAdjustment(2, 0, None),))
    assert step(add, group(3), 60).desired_capacity == 5
    exact = StepScalingPolicy("exact", AdjustmentType.EXACT_CAPACITY, (StepAdjustment(7, 0, None),))
    assert step(exact, group(3), 60).desired_capacity == 7
    assert step(exact, group(7), 60).desired_capacity is None


def test_min_adjustment_magnitude_raises_a_small_percent_step():
    policy = StepScalingPolicy(
        "pct", PERCENT, (StepAdjustment(25, 0, None),), min_adjustment_magnitude=2
    )
    assert step(policy, group(4), 60).desired_capacity == 6  # 25 % of 4 is 1, minimum 2


@pytest.mark.parametrize(
    "steps",
    [
        (),
        (StepAdjustment(1, None, None),),
        (StepAdjustment(1, 10, 5),),
        (StepAdjustment(1, 0, 20), StepAdjustment(2, 10, None)),  # overlap
        (StepAdjustment(1, 0, 10), StepAdjustment(2, 20, None)),  # gap
        (StepAdjustment(1, 0, None), StepAdjustment(2, 10, None)),  # two null upper bounds
        (StepAdjustment(1, 0, 10),),  # positive upper bound without a null upper bound
        (StepAdjustment(-1, -10, 0),),  # negative lower bound without a null lower bound
    ],
)
def test_invalid_step_sets_are_refused(steps):
    with pytest.raises(ValidationError):
        StepScalingPolicy("bad", AdjustmentType.CHANGE_IN_CAPACITY, steps)


def test_min_adjustment_magnitude_needs_percent_change():
    with pytest.raises(ValidationError, match="PercentChangeInCapacity"):
        StepScalingPolicy(
            "bad",
            AdjustmentType.CHANGE_IN_CAPACITY,
            (StepAdjustment(1, 0, None),),
            min_adjustment_magnitude=2,
        )


# --- PercentChangeInCapacity rounding ---------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "capacity", "instances"),
    [
        (127, 10, 12),  # 12.7 → 12: above 1 rounds down
        (67, 1, 1),  # 0.67 → 1: between 0 and 1 becomes 1
        (-58, 1, -1),  # -0.58 → -1: between 0 and -1 becomes -1
        (-23, 29, -6),  # -6.67 → -6: below -1 rounds up
        (10, 10, 1),
        (50, 4, 2),
        (0, 10, 0),
        (25, 0, 0),  # nothing to take a percentage of
    ],
)
def test_percent_change_rounds_as_aws_documents(percent, capacity, instances):
    assert percent_change(percent, capacity) == instances


def test_min_adjustment_magnitude_applies_in_both_directions():
    assert percent_change(25, 4, 2) == 2
    assert percent_change(-25, 4, 2) == -2
    assert percent_change(50, 10, 2) == 5


# --- simple scaling and cooldown ---------------------------------------------------------------


ADD_TWO = SimpleScalingPolicy("add-two", AdjustmentType.CHANGE_IN_CAPACITY, 2)


def simple(policy, snapshot, *, now, last_activity_end, activity_in_progress=False):
    return simple_scaling_decision(
        policy,
        snapshot,
        alarm_name="high-cpu",
        now=now,
        last_activity_end=last_activity_end,
        activity_in_progress=activity_in_progress,
    )


def test_simple_scaling_with_no_previous_activity_scales_at_once():
    decision = simple(ADD_TWO, group(2), now=NOW, last_activity_end=None)
    assert decision.desired_capacity == 4
    assert decision.cause == (
        "At 2026-11-28T06:00:00Z a monitor alarm high-cpu in state ALARM triggered policy add-two "
        "changing the desired capacity from 2 to 4."
    )


def test_default_cooldown_blocks_then_allows():
    last = NOW - 299
    blocked = simple(ADD_TWO, group(2), now=NOW, last_activity_end=last)
    assert blocked.desired_capacity is None
    assert "cooldown" in blocked.cause
    assert simple(ADD_TWO, group(2), now=last + 300, last_activity_end=last).desired_capacity == 4


def test_group_default_cooldown_is_used_when_the_policy_has_none():
    snapshot = group(2, default_cooldown=60)
    assert simple(ADD_TWO, snapshot, now=NOW, last_activity_end=NOW - 60).changes


def test_policy_cooldown_overrides_default_cooldown():
    quick = SimpleScalingPolicy("quick", AdjustmentType.CHANGE_IN_CAPACITY, 1, cooldown=60)
    assert simple(quick, group(2), now=NOW, last_activity_end=NOW - 60).desired_capacity == 3
    slow = SimpleScalingPolicy("slow", AdjustmentType.CHANGE_IN_CAPACITY, 1, cooldown=600)
    assert not simple(slow, group(2), now=NOW, last_activity_end=NOW - 300).changes


def test_no_simple_scaling_while_an_activity_is_in_progress():
    decision = simple(ADD_TWO, group(2), now=NOW, last_activity_end=None, activity_in_progress=True)
    assert decision.desired_capacity is None


def test_simple_scaling_clamps_to_min_and_max():
    remove = SimpleScalingPolicy("remove", AdjustmentType.CHANGE_IN_CAPACITY, -5)
    assert (
        simple(remove, group(3, min_size=1), now=NOW, last_activity_end=None).desired_capacity == 1
    )
    assert (
        simple(ADD_TWO, group(3, max_size=4), now=NOW, last_activity_end=None).desired_capacity == 4
    )
    assert not simple(ADD_TWO, group(4, max_size=4), now=NOW, last_activity_end=None).changes


def test_simple_percent_change_uses_aws_rounding():
    policy = SimpleScalingPolicy("pct", PERCENT, 10)
    assert simple(policy, group(5), now=NOW, last_activity_end=None).desired_capacity == 6


def test_exact_capacity_must_be_non_negative():
    with pytest.raises(ValidationError):
        SimpleScalingPolicy("bad", AdjustmentType.EXACT_CAPACITY, -1)


# --- the group and time ------------------------------------------------------------------------


def test_snapshot_of_a_group_keeps_its_bounds_and_cooldown():
    asg = create_auto_scaling_group(
        "workers", "lt", min_size=1, max_size=5, availability_zones=["a"], default_cooldown=120
    )
    snapshot = GroupSnapshot.of(asg, [LONG_AGO])
    assert (snapshot.min_size, snapshot.max_size, snapshot.desired_capacity) == (1, 5, 1)
    assert snapshot.instance_warmup(None) == 120


def test_time_scale_divides_durations_for_the_caller_only():
    assert TimeScale().scaled(300) == 300
    assert TimeScale(10).scaled(300) == 30
    with pytest.raises(ValidationError):
        TimeScale(0)
