"""The instance lifecycle against the fake runtime and a fake load balancer: AWS's states,
terminations that never wait, lifecycle hooks with their timeouts on the fake clock, and an
orchestrator restart that resumes each instance where it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.hooks import (
    LifecycleActionResult,
    LifecycleHook,
    LifecycleTransition,
    put_lifecycle_hook,
)
from orchestrator.asg.lifecycle import (
    InstanceLifecycle,
    LifecycleState,
    Observed,
    complete,
    heartbeat,
    step,
)
from orchestrator.asg.notifications import Notifier
from orchestrator.asg.operations import AutoScaling
from orchestrator.asg.store import Store
from orchestrator.elb.state import ElbStore
from orchestrator.errors import AwsError
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime

START = 1_800_000_000.0


class SlowDrain:
    """A load balancer whose draining ends only when the test says so."""

    def __init__(self) -> None:
        self.begun: list[str] = []
        self.done: set[str] = set()

    def begin_drain(self, group: str, instance_id: str) -> None:
        if instance_id not in self.begun:
            self.begun.append(instance_id)

    def drained(self, group: str, instance_id: str) -> bool:
        return instance_id in self.done


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "barista.db") as opened:
        opened.put_launch_template(
            create_launch_template("baristas", LaunchTemplateData(image="barista/service:latest"))
        )
        for name in ("baristas", "counters"):
            opened.put_group(
                create_auto_scaling_group(
                    name,
                    "baristas",
                    min_size=0,
                    max_size=4,
                    desired_capacity=1,
                    availability_zones=("az-a",),
                )
            )
        yield opened


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime(start=START)


def ops(store: Store, runtime: FakeRuntime, tmp_path: Path) -> AutoScaling:
    return AutoScaling(store, runtime, ElbStore(tmp_path / "barista.db"))


def state_of(store: Store, instance_id: str) -> LifecycleState | None:
    record = store.instance_lifecycles().get(instance_id)
    return None if record is None else record.state


def hook(
    transition: LifecycleTransition,
    *,
    heartbeat_timeout: int | None = None,
    default_result: str | None = None,
    group: str = "baristas",
    name: str = "drain-orders",
) -> LifecycleHook:
    return put_lifecycle_hook(
        None,
        lifecycle_hook_name=name,
        auto_scaling_group_name=group,
        hooks_in_group=0,
        lifecycle_transition=transition.value,
        heartbeat_timeout=heartbeat_timeout,
        default_result=default_result,
    )


def only(runtime: FakeRuntime, group: str = "baristas") -> str:
    (instance,) = runtime.instances(group)
    return instance.instance_id


# The pure state machine.


def test_a_hook_defaults_to_aws_values_and_its_global_timeout_is_bounded():
    plain = hook(LifecycleTransition.TERMINATING)
    assert (plain.heartbeat_timeout, plain.default_result) == (3600, LifecycleActionResult.ABANDON)
    assert plain.global_timeout == 48 * 3600  # 100 x 3600 s is more than 48 h
    short = hook(LifecycleTransition.TERMINATING, heartbeat_timeout=60)
    assert short.global_timeout == 6000
    for bad in (29, 7201):
        with pytest.raises(AwsError, match="HeartbeatTimeout must be between 30 and 7200"):
            hook(LifecycleTransition.TERMINATING, heartbeat_timeout=bad)
    with pytest.raises(AwsError, match="LifecycleActionResult and DefaultResult"):
        hook(LifecycleTransition.TERMINATING, default_result="MAYBE")
    with pytest.raises(AwsError, match="Lifecycle Transition is required"):
        put_lifecycle_hook(
            None, lifecycle_hook_name="x", auto_scaling_group_name="g", hooks_in_group=0
        )
    with pytest.raises(AwsError) as limit:
        put_lifecycle_hook(
            None,
            lifecycle_hook_name="fifty-first",
            auto_scaling_group_name="g",
            hooks_in_group=50,
            lifecycle_transition=LifecycleTransition.LAUNCHING.value,
        )
    assert limit.value.code == "LimitExceeded"


def test_termination_waits_for_every_hook_and_for_draining_before_it_proceeds():
    hooks = [hook(LifecycleTransition.TERMINATING, heartbeat_timeout=60)]
    record = InstanceLifecycle("i-1", "baristas", LifecycleState.TERMINATING, START)
    busy = Observed(exists=True, starting=False, drained=False)
    record = step(record, busy, hooks, START)
    assert record.state is LifecycleState.TERMINATING_WAIT
    assert record.drain_started
    (action,) = record.actions
    assert len(action.lifecycle_action_token) == 36
    assert step(record, busy, hooks, START + 30) == record  # hook open, still draining
    record = complete(record, 0, LifecycleActionResult.CONTINUE)
    assert step(record, busy, hooks, START + 31) == record  # hook done, still draining
    drained = Observed(exists=True, starting=False, drained=True)
    assert step(record, drained, hooks, START + 32).state is LifecycleState.TERMINATING_PROCEED


def test_an_action_nobody_completes_takes_the_default_result_after_the_heartbeat_timeout():
    hooks = [hook(LifecycleTransition.TERMINATING, heartbeat_timeout=60, default_result="CONTINUE")]
    record = InstanceLifecycle("i-1", "baristas", LifecycleState.TERMINATING, START)
    idle = Observed(exists=True, starting=False, drained=True)
    record = step(record, idle, hooks, START)
    assert step(record, idle, hooks, START + 59.9).state is LifecycleState.TERMINATING_WAIT
    timed_out = step(record, idle, hooks, START + 60)
    assert timed_out.state is LifecycleState.TERMINATING_PROCEED
    (action,) = timed_out.actions
    assert (action.result, action.settled_by) == (LifecycleActionResult.CONTINUE, "timed out")


def test_heartbeats_extend_the_wait_but_never_past_the_global_timeout():
    hooks = [hook(LifecycleTransition.TERMINATING, heartbeat_timeout=30)]
    idle = Observed(exists=True, starting=False, drained=True)
    record = step(
        InstanceLifecycle("i-1", "baristas", LifecycleState.TERMINATING, START), idle, hooks, START
    )
    now = START
    while now < START + 3000 - 20:  # a heartbeat every 20 s; the global timeout is 3000 s
        now += 20
        assert step(record, idle, hooks, now).state is LifecycleState.TERMINATING_WAIT
        record = heartbeat(record, 0, now)
    assert step(record, idle, hooks, START + 3000).state is LifecycleState.TERMINATING_PROCEED


def test_a_launch_hook_holds_pending_wait_and_abandon_terminates_the_instance():
    hooks = [hook(LifecycleTransition.LAUNCHING)]
    running = Observed(exists=True, starting=False, drained=True)
    record = step(
        InstanceLifecycle("i-1", "baristas", LifecycleState.PENDING, START), running, hooks, START
    )
    assert record.state is LifecycleState.PENDING_WAIT
    timed_out = step(record, running, hooks, START + 3600)  # ABANDON, AWS's default
    assert timed_out.state is LifecycleState.TERMINATING
    assert timed_out.abandoned


def test_an_instance_that_vanishes_is_terminated_and_its_actions_closed():
    hooks = [hook(LifecycleTransition.TERMINATING)]
    record = step(
        InstanceLifecycle("i-1", "baristas", LifecycleState.TERMINATING, START),
        Observed(exists=True, starting=False, drained=True),
        hooks,
        START,
    )
    gone = step(record, Observed(exists=False, starting=False, drained=True), hooks, START + 1)
    assert gone.state is LifecycleState.TERMINATED
    assert not any(a.open for a in gone.actions)


# The controller: nothing waits.


def test_terminate_answers_at_once_and_the_controller_drains_without_waiting(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    drain = SlowDrain()
    controller = AutoScalingController(store, runtime, drain=drain)
    controller.reconcile_once()
    victim = only(runtime)
    activity = ops(store, runtime, tmp_path).terminate_instance(victim, should_decrement=True)
    assert activity.status_code == "InProgress"
    assert state_of(store, victim) is LifecycleState.TERMINATING
    controller.reconcile_once()
    assert state_of(store, victim) is LifecycleState.TERMINATING_WAIT
    assert drain.begun == [victim]
    assert runtime.terminated == []
    (current,) = [a for a in store.activities("baristas") if a.activity_id == activity.activity_id]
    assert current.status_code == "WaitingForELBConnectionDraining"
    drain.done.add(victim)
    controller.reconcile_once()
    assert runtime.terminated == [victim]
    assert state_of(store, victim) is None  # Terminated, and the record is gone with it
    (finished,) = [a for a in store.activities("baristas") if a.activity_id == activity.activity_id]
    assert finished.status_code == "Successful"


def test_two_groups_scale_at_once_while_one_drains(store: Store, runtime: FakeRuntime):
    drain = SlowDrain()
    controller = AutoScalingController(store, runtime, drain=drain)
    controller.reconcile_once()
    draining = only(runtime, "baristas")
    operations = AutoScaling(store, runtime, ElbStore(store.path))
    operations.set_desired_capacity("baristas", 0)
    controller.reconcile_once()
    assert state_of(store, draining) is LifecycleState.TERMINATING_WAIT
    operations.set_desired_capacity("counters", 3)
    operations.set_desired_capacity("baristas", 2)
    controller.reconcile_once()  # returns although "baristas" still drains
    assert len(runtime.instances("counters")) == 3
    # The draining instance is not capacity: two new baristas, and it is still draining.
    assert len([i for i in runtime.instances("baristas") if i.instance_id != draining]) == 2
    assert state_of(store, draining) is LifecycleState.TERMINATING_WAIT


def test_a_terminate_hook_holds_the_instance_until_completed(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    store.put_lifecycle_hook(hook(LifecycleTransition.TERMINATING, heartbeat_timeout=300))
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    victim = only(runtime)
    operations = ops(store, runtime, tmp_path)
    operations.set_desired_capacity("baristas", 0)
    controller.reconcile_once()
    assert state_of(store, victim) is LifecycleState.TERMINATING_WAIT
    (activity,) = [
        a
        for a in store.activities("baristas")
        if victim in a.description and "Terminating" in a.description
    ]
    assert activity.status_code == "MidLifecycleAction"
    runtime.advance(299)
    controller.reconcile_once()
    assert runtime.terminated == []
    operations.complete_lifecycle_action("baristas", "drain-orders", "CONTINUE", instance_id=victim)
    with pytest.raises(
        AwsError, match=f"No active Lifecycle Action found with instance ID {victim}"
    ):
        operations.complete_lifecycle_action(
            "baristas", "drain-orders", "CONTINUE", instance_id=victim
        )
    controller.reconcile_once()
    assert runtime.terminated == [victim]


def test_the_default_result_applies_after_the_heartbeat_timeout_on_the_scaled_clock(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    store.put_lifecycle_hook(hook(LifecycleTransition.TERMINATING, heartbeat_timeout=120))
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    victim = only(runtime)
    operations = ops(store, runtime, tmp_path)
    operations.set_desired_capacity("baristas", 0)
    controller.reconcile_once()
    runtime.advance(100)
    operations.record_lifecycle_action_heartbeat("baristas", "drain-orders", instance_id=victim)
    runtime.advance(100)  # 200 s after the start, 100 s after the heartbeat
    controller.reconcile_once()
    assert runtime.terminated == []
    runtime.advance(20)  # 120 s after the heartbeat
    controller.reconcile_once()
    assert runtime.terminated == [victim]


def test_a_launch_hook_holds_pending_wait_and_continue_puts_it_in_service(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    store.put_lifecycle_hook(hook(LifecycleTransition.LAUNCHING, name="warm-up"))
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    new = only(runtime)
    assert state_of(store, new) is LifecycleState.PENDING_WAIT
    record = store.instance_lifecycles()[new]
    token = record.actions[0].lifecycle_action_token
    ops(store, runtime, tmp_path).complete_lifecycle_action(
        "baristas", "warm-up", "CONTINUE", token=token
    )
    controller.reconcile_once()
    assert state_of(store, new) is LifecycleState.IN_SERVICE
    launch = next(a for a in store.activities("baristas") if new in a.description)
    assert launch.status_code == "Successful"


def test_an_abandoned_launch_is_terminated_and_replaced(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    store.put_lifecycle_hook(hook(LifecycleTransition.LAUNCHING, name="warm-up"))
    controller = AutoScalingController(store, runtime)
    controller.reconcile_once()
    first = only(runtime)
    ops(store, runtime, tmp_path).complete_lifecycle_action(
        "baristas", "warm-up", "ABANDON", instance_id=first
    )
    runtime.advance(1)
    controller.reconcile_once()  # the abandoned one goes
    assert runtime.terminated == [first]
    runtime.advance(1)
    controller.reconcile_once()  # and a replacement comes
    replacement = only(runtime)
    assert replacement != first
    launch = next(
        a
        for a in store.activities("baristas")
        if a.description.endswith(first) and "Launching" in a.description
    )
    assert launch.status_code == "Cancelled"
    assert "was abandoned with Lifecycle Action Result: ABANDON" in launch.status_message


def test_a_restarted_controller_resumes_an_instance_in_terminating_wait(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    store.put_lifecycle_hook(hook(LifecycleTransition.TERMINATING, heartbeat_timeout=60))
    AutoScalingController(store, runtime).reconcile_once()
    victim = only(runtime)
    ops(store, runtime, tmp_path).set_desired_capacity("baristas", 0)
    AutoScalingController(store, runtime).reconcile_once()
    token = store.instance_lifecycles()[victim].actions[0].lifecycle_action_token
    # The orchestrator dies here; a new one opens the same file.
    with Store(store.path) as reopened:
        again = AutoScalingController(reopened, runtime)
        again.reconcile_once()
        assert state_of(reopened, victim) is LifecycleState.TERMINATING_WAIT
        assert reopened.instance_lifecycles()[victim].actions[0].lifecycle_action_token == token
        runtime.advance(60)
        again.reconcile_once()
    assert runtime.terminated == [victim]


def test_a_hook_with_a_queue_target_gets_aws_lifecycle_message_with_the_token(
    store: Store, runtime: FakeRuntime, tmp_path: Path
):
    sent: list[tuple[str, str]] = []
    queue = "arn:aws:sqs:us-east-1:123456789012:lifecycle"
    store.put_lifecycle_hook(
        put_lifecycle_hook(
            None,
            lifecycle_hook_name="drain-orders",
            auto_scaling_group_name="baristas",
            hooks_in_group=0,
            lifecycle_transition=LifecycleTransition.TERMINATING.value,
            notification_target_arn=queue,
            notification_metadata="finish the cup",
        )
    )
    store.put_lifecycle_hook(
        put_lifecycle_hook(
            None,
            lifecycle_hook_name="elsewhere",
            auto_scaling_group_name="baristas",
            hooks_in_group=1,
            lifecycle_transition=LifecycleTransition.TERMINATING.value,
            notification_target_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        )
    )
    notify = Notifier(send_to_queue=lambda arn, body: sent.append((arn, body)))
    controller = AutoScalingController(store, runtime, notify=notify)
    controller.reconcile_once()
    victim = only(runtime)
    ops(store, runtime, tmp_path).set_desired_capacity("baristas", 0)
    controller.reconcile_once()
    controller.reconcile_once()  # still waiting: no second notification
    ((target, body),) = sent
    assert target == queue
    message = json.loads(body)
    action = next(
        a
        for a in store.instance_lifecycles()[victim].actions
        if a.lifecycle_hook_name == "drain-orders"
    )
    assert message["LifecycleActionToken"] == action.lifecycle_action_token
    assert message["EC2InstanceId"] == victim
    assert message["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert (message["Origin"], message["Destination"]) == ("AutoScalingGroup", "EC2")
    assert message["NotificationMetadata"] == "finish the cup"
    assert message["Time"].endswith("Z")
