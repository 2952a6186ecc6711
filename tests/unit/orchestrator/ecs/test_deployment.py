"""Rolling deployments within minimumHealthyPercent/maximumPercent, and the circuit breaker."""

from __future__ import annotations

import dataclasses

import pytest

from orchestrator.ecs.deployment import new_deployment, plan_service, update_deployments
from orchestrator.ecs.model import (
    DeploymentConfiguration,
    LaunchType,
    Service,
    StopCode,
    Task,
    TaskStatus,
    circuit_breaker_threshold,
)


def service(desired: int, config: DeploymentConfiguration | None = None) -> Service:
    first = dataclasses.replace(new_deployment("d-old", "web:1", 0.0), rollout_state="COMPLETED")
    base = Service(
        "web",
        "c",
        "web:1",
        desired,
        0.0,
        deployment_configuration=config or DeploymentConfiguration(),
        deployments=(first,),
    )
    return dataclasses.replace(
        base, task_definition="web:2", deployments=update_deployments(base, "web:2", "d-new", 1.0)
    )


def task(n: int, deployment: str, healthy: bool = True, **changes: object) -> Task:
    base = Task(
        f"t{n}",
        "c",
        "web:1",
        LaunchType.FARGATE,
        float(n),
        "service:web",
        service="web",
        deployment_id=deployment,
        launched=True,
        last_status=TaskStatus.RUNNING,
        healthy_at=1.0 if healthy else None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("desired", "threshold"), [(1, 3), (4, 3), (6, 3), (7, 4), (10, 5), (400, 200), (1000, 200)]
)
def test_circuit_breaker_threshold_is_half_the_desired_count_within_3_and_200(desired, threshold):
    assert circuit_breaker_threshold(desired) == threshold


def test_default_percentages_start_all_new_tasks_then_stop_old_only_when_new_are_healthy():
    olds = [task(i, "d-old") for i in range(4)]
    first = plan_service(service(4), olds, 2.0)
    assert (first.start, first.stop) == (4, ())  # maximumPercent 200: room for 4 more
    starting = olds + [task(10 + i, "d-new", healthy=False) for i in range(4)]
    assert plan_service(service(4), starting, 3.0).stop == ()  # min healthy 100%: keep all
    two_ready = olds + [task(10 + i, "d-new", healthy=i < 2) for i in range(4)]
    stopped = plan_service(service(4), two_ready, 4.0).stop
    assert [t.task_id for t in stopped] == ["t0", "t1"]


def test_minimum_50_maximum_100_stops_half_first_then_replaces():
    config = DeploymentConfiguration(minimum_healthy_percent=50, maximum_percent=100)
    olds = [task(i, "d-old") for i in range(4)]
    decided = plan_service(service(4, config), olds, 2.0)
    assert decided.start == 0
    assert len(decided.stop) == 2
    remaining = olds[2:]
    assert plan_service(service(4, config), remaining, 3.0).start == 2


def test_completed_when_new_tasks_are_healthy_and_old_ones_gone():
    news = [task(10 + i, "d-new") for i in range(2)]
    decided = plan_service(service(2), news, 5.0)
    assert decided.steady
    assert [d.deployment_id for d in decided.deployments] == ["d-new"]
    assert decided.deployments[0].rollout_state == "COMPLETED"
    assert "(service web) (deployment d-new) deployment completed." in decided.events


def test_a_failed_task_is_replaced():
    current = service(2)
    news = [
        task(10, "d-new"),
        task(11, "d-new", desired_status=TaskStatus.STOPPED, last_status=TaskStatus.STOPPED),
    ]
    assert plan_service(current, news, 5.0).start == 1


def test_circuit_breaker_trips_at_threshold_and_rolls_back_to_the_completed_deployment():
    config = DeploymentConfiguration(circuit_breaker_enable=True, circuit_breaker_rollback=True)
    olds = [task(i, "d-old") for i in range(2)]
    failed = [
        task(
            10 + i,
            "d-new",
            healthy=False,
            desired_status=TaskStatus.STOPPED,
            last_status=TaskStatus.STOPPED,
            stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED,
        )
        for i in range(2)
    ]
    assert not plan_service(service(2, config), olds + failed, 5.0).events
    third = task(
        12,
        "d-new",
        healthy=False,
        desired_status=TaskStatus.STOPPED,
        stopped_reason="Task failed container health checks",
        stop_code=StopCode.SERVICE_SCHEDULER_INITIATED,
    )
    starting = task(13, "d-new", healthy=False)  # a fourth new task still starting
    decided = plan_service(service(2, config), [*olds, *failed, third, starting], 6.0)
    assert decided.task_definition == "web:1"
    states = {d.deployment_id: (d.status, d.rollout_state) for d in decided.deployments}
    # The COMPLETED deployment is the primary again, IN_PROGRESS; the failed one stays listed.
    assert states == {"d-old": ("PRIMARY", "IN_PROGRESS"), "d-new": ("ACTIVE", "FAILED")}
    assert decided.events[:2] == (
        "(service web) (deployment d-new) deployment failed: tasks failed to start.",
        "(service web) rolling back to deployment d-old.",
    )
    # Its tasks are still running: nothing starts, the failed deployment's task stops.
    assert decided.start == 0
    assert [t.task_id for t in decided.stop] == ["t13"]
    after = dataclasses.replace(
        service(2, config), task_definition=decided.task_definition, deployments=decided.deployments
    )
    done = plan_service(after, [*olds, *failed, third], 7.0)
    assert [(d.deployment_id, d.rollout_state) for d in done.deployments] == [
        ("d-old", "COMPLETED")
    ]


def test_tasks_stopped_by_the_scheduler_are_not_failures():
    config = DeploymentConfiguration(circuit_breaker_enable=True, circuit_breaker_rollback=True)
    scaled_in = [
        task(
            10 + i,
            "d-new",
            healthy=False,
            desired_status=TaskStatus.STOPPED,
            stop_code=StopCode.SERVICE_SCHEDULER_INITIATED,
            stopped_reason="Scaling activity",
        )
        for i in range(5)
    ]
    assert not plan_service(service(2, config), scaled_in, 5.0).events


def test_without_rollback_a_failed_deployment_launches_no_more_tasks():
    config = DeploymentConfiguration(circuit_breaker_enable=True)
    failed = [
        task(
            10 + i,
            "d-new",
            healthy=False,
            desired_status=TaskStatus.STOPPED,
            stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED,
        )
        for i in range(3)
    ]
    decided = plan_service(service(2, config), failed, 5.0)
    assert decided.start == 0
    assert decided.deployments[-1].rollout_state == "FAILED"


def test_a_task_becoming_healthy_resets_the_failure_count():
    config = DeploymentConfiguration(circuit_breaker_enable=True, circuit_breaker_rollback=True)

    def failed(n: int, at: float) -> Task:
        return task(
            n,
            "d-new",
            healthy=False,
            desired_status=TaskStatus.STOPPED,
            stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED,
            stopping_at=at,
        )

    healthy_at_5 = task(20, "d-new", healthy_at=5.0)
    tasks = [failed(10, 1.0), failed(11, 2.0), healthy_at_5, failed(12, 6.0), failed(13, 7.0)]
    assert not plan_service(service(2, config), tasks, 8.0).events, "2 since the reset"
    tripped = plan_service(service(2, config), [*tasks, failed(14, 8.0)], 9.0)
    assert any("deployment failed" in e for e in tripped.events)
