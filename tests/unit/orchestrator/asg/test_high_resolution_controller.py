"""High-resolution target tracking in the control loop: a policy on a 10-second metric is
sampled and alarmed every 10 seconds, so three breaching datapoints take 30 s, not 3 minutes
(fake runtime; AWS time 2026-11-28 07:00:30 UTC, as the scaling controller's tests)."""

from __future__ import annotations

from orchestrator.asg.controller import AutoScalingController
from orchestrator.scaling.metrics import QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from tests.unit.orchestrator.asg.test_scaling_controller import (  # noqa: F401 - the fixture
    GROUP,
    backlog_policy,
    desired,
    world,
)


def test_three_breaching_10_second_datapoints_scale_out_within_30_seconds(world):  # noqa: F811
    store, runtime, queue, controller = world
    policy = backlog_policy()
    assert isinstance(policy.definition, TargetTrackingPolicy)
    fast = TargetTrackingPolicy(QueueBacklogMetric("orders", 10), policy.definition.configuration)
    store.put_policy(ScalingPolicy(GROUP, policy.policy_name, fast))
    asg = AutoScalingController(store, runtime)

    def tick() -> None:
        controller.evaluate_once()
        asg.reconcile_once()
        runtime.advance(10)

    for _ in range(7):  # a minute for the first worker to pass its 60 s warm-up
        tick()
    queue.depth = 45
    breach = runtime.now()
    tick()
    tick()
    assert desired(store) == 1  # two datapoints above target: AlarmHigh needs three
    tick()
    assert desired(store) == 5  # the third, 20 s after the first: ceil(45 / 10)
    assert runtime.now() - breach == 30
    assert store.datapoints(QueueBacklogMetric("orders").key) == []  # no minute series
    assert len(store.datapoints(QueueBacklogMetric("orders", 10).key)) == 10
