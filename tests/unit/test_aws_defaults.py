"""docs/aws-defaults.md against the code: each number the table states as an AWS default or
bound is read out of the row's text and compared with the constant or default the code runs
on. A row is either checked here or named in ``BEHAVIOUR_ONLY`` (a behaviour with no single
number, which the tests of that feature cover), so a new row must be placed on purpose."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from broker_adapters import core
from orchestrator.asg import group, hooks
from orchestrator.ecs import controller as ecs_controller
from orchestrator.ecs import model as ecs_model
from orchestrator.ecs import scalable_target, task_definition
from orchestrator.elb import model as elb_model
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.scaling import forecast, predictive
from orchestrator.sns.retries import RetryPolicy
from orchestrator.sqs import attributes as sqs_attributes

DOC = Path(__file__).resolve().parents[2] / "docs" / "aws-defaults.md"

UNITS = {"s": 1, "min": 60, "h": 3600, "day": 86400, "days": 86400, "KiB": 1024}


def field_default(cls: type, name: str) -> Any:
    """A dataclass field's default, as the code creates the object when AWS's caller omits it."""
    [found] = [f for f in dataclasses.fields(cls) if f.name == name]
    return found.default


def table() -> dict[tuple[str, str], str]:
    """(section, item) -> the row's AWS behaviour text."""
    rows: dict[tuple[str, str], str] = {}
    section = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| ") and not line.startswith(("| item", "|---")):
            item, text = (cell.strip() for cell in line.strip().strip("|").split("|", 1))
            rows[(section, item)] = text.strip().strip("|").strip()
    return rows


def number(text: str, pattern: str) -> float:
    """The number ``pattern`` (one group, optionally followed by a unit) finds in ``text``, in
    seconds or bytes."""
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in {text!r}"
    value = float(found.group(1).replace(",", ""))
    unit = found.group(2) if found.lastindex and found.lastindex > 1 else None
    return value * UNITS.get(unit or "", 1)


ASG, ECS, ELB, MESSAGING = "EC2 Auto Scaling", "ECS", "Elastic Load Balancing", "SNS and SQS"
# The doc writes ranges with an en dash and factors with a multiplication sign.
DASH, TIMES = "\u2013", "\u00d7"
N = r"([\d,.]+)"
U = r"\s*(s|min|h|days?|KiB)\b"

# (section, item, pattern in the row, the code's value)
CHECKS: list[tuple[str, str, str, Callable[[], float]]] = [
    (
        ASG,
        "health check grace period",
        N + r" via API",
        lambda: field_default(group.AutoScalingGroup, "health_check_grace_period"),
    ),
    (ASG, "DefaultCooldown", "^" + N + U, lambda: group.DEFAULT_COOLDOWN),
    (ASG, "instance warm-up", "0" + DASH + N + U, lambda: group.MAX_DEFAULT_INSTANCE_WARMUP),
    (ASG, "predictive scaling", "≥ " + N + U, lambda: forecast.MINIMUM_HISTORY),
    (ASG, "predictive scaling", "up to " + N + U, lambda: forecast.MAXIMUM_HISTORY),
    (ASG, "predictive scaling", "next " + N + U, lambda: forecast.HORIZON_HOURS * 3600),
    (ASG, "predictive scaling", "every " + N + U, lambda: forecast.REFRESH_INTERVAL),
    (
        ASG,
        "predictive scaling",
        "SchedulingBufferTime default " + N + U,
        lambda: predictive.DEFAULT_SCHEDULING_BUFFER_TIME,
    ),
    (ASG, "predictive scaling", r"\(< " + N, lambda: predictive.HOUR),
    (ASG, "lifecycle hooks", r"HeartbeatTimeout " + N, lambda: hooks.MIN_HEARTBEAT_TIMEOUT),
    (
        ASG,
        "lifecycle hooks",
        r"HeartbeatTimeout \d+" + DASH + N,
        lambda: hooks.MAX_HEARTBEAT_TIMEOUT,
    ),
    (ASG, "lifecycle hooks", r"default " + N, lambda: hooks.DEFAULT_HEARTBEAT_TIMEOUT),
    (ASG, "lifecycle hooks", r"min\(" + N + U, lambda: hooks.MAX_GLOBAL_TIMEOUT),
    (ASG, "lifecycle hooks", N + " " + TIMES + " heartbeat", lambda: hooks.GLOBAL_TIMEOUT_FACTOR),
    (
        ECS,
        "deployment",
        r"minimumHealthyPercent " + N,
        lambda: field_default(ecs_model.DeploymentConfiguration, "minimum_healthy_percent"),
    ),
    (
        ECS,
        "deployment",
        r"maximumPercent " + N,
        lambda: field_default(ecs_model.DeploymentConfiguration, "maximum_percent"),
    ),
    (ECS, "no health check", N + U, lambda: ecs_controller.NO_HEALTH_CHECK_HEALTHY_AFTER),
    (ECS, "circuit breaker", r"\[" + N, lambda: ecs_model.circuit_breaker_threshold(0)),
    (ECS, "circuit breaker", r", " + N + r"\]", lambda: ecs_model.circuit_breaker_threshold(10**6)),
    (
        ECS,
        "circuit breaker",
        N + " " + TIMES + " desired",
        lambda: ecs_model.circuit_breaker_threshold(20) / 20,
    ),
    (
        ECS,
        "container health check",
        r"interval " + N + U,
        lambda: field_default(task_definition.HealthCheck, "interval"),
    ),
    (
        ECS,
        "container health check",
        r"timeout " + N + U,
        lambda: field_default(task_definition.HealthCheck, "timeout"),
    ),
    (
        ECS,
        "container health check",
        r"retries " + N,
        lambda: field_default(task_definition.HealthCheck, "retries"),
    ),
    (
        ECS,
        "stopping",
        r"default " + N + U,
        lambda: field_default(LaunchTemplateData, "stop_timeout"),
    ),
    (ECS, "stopping", r"Fargate max " + N + U, lambda: task_definition.FARGATE_MAX_STOP_TIMEOUT),
    (
        ECS,
        "capacity providers",
        r"instanceWarmupPeriod default " + N + U,
        lambda: field_default(ecs_model.CapacityProvider, "instance_warmup_period"),
    ),
    (ECS, "service auto scaling", r"cooldown " + N + U, lambda: scalable_target.DEFAULT_COOLDOWN),
    (
        ELB,
        "health check",
        r"interval " + N + U,
        lambda: field_default(elb_model.HealthCheck, "interval_seconds"),
    ),
    (
        ELB,
        "health check",
        r"timeout " + N + U,
        lambda: field_default(elb_model.HealthCheck, "timeout_seconds"),
    ),
    (
        ELB,
        "health check",
        r"healthy threshold " + N,
        lambda: field_default(elb_model.HealthCheck, "healthy_threshold_count"),
    ),
    (
        ELB,
        "health check",
        r"unhealthy threshold " + N,
        lambda: field_default(elb_model.HealthCheck, "unhealthy_threshold_count"),
    ),
    (
        ELB,
        "health check",
        r"matcher " + N,
        lambda: float(field_default(elb_model.HealthCheck, "matcher")),
    ),
    (
        ELB,
        "deregistration delay",
        "^" + N + U,
        lambda: field_default(
            elb_model.TargetGroupAttributes, "deregistration_delay_timeout_seconds"
        ),
    ),
    (
        ELB,
        "stickiness",
        r"default " + N + U,
        lambda: field_default(
            elb_model.TargetGroupAttributes, "stickiness_lb_cookie_duration_seconds"
        ),
    ),
    (
        MESSAGING,
        "SNS fan-out",
        r"default " + N + r" retries",
        lambda: field_default(RetryPolicy, "num_retries"),
    ),
    (
        MESSAGING,
        "SNS fan-out",
        N + U + r" apart",
        lambda: field_default(RetryPolicy, "min_delay_target"),
    ),
    (MESSAGING, "SQS visibility timeout", "^" + N + U, lambda: core.DEFAULT_VISIBILITY_TIMEOUT),
    (
        MESSAGING,
        "SQS visibility timeout",
        "^" + N + U,
        lambda: float(sqs_attributes.DEFAULTS["VisibilityTimeout"]),
    ),
    (MESSAGING, "SQS visibility timeout", DASH + N + U, lambda: core.MAX_VISIBILITY_TIMEOUT),
    (
        MESSAGING,
        "SQS visibility timeout",
        DASH + N + U,
        lambda: sqs_attributes.RANGES["VisibilityTimeout"][1],
    ),
    (MESSAGING, "SQS long polling", r"up to " + N + U, lambda: core.MAX_WAIT),
    (
        MESSAGING,
        "SQS long polling",
        r"up to " + N + U,
        lambda: sqs_attributes.RANGES["ReceiveMessageWaitTimeSeconds"][1],
    ),
    (MESSAGING, "SQS receive", r"up to " + N, lambda: core.MAX_RECEIVE_BATCH),
    (
        MESSAGING,
        "SQS retention",
        "^" + N + U,
        lambda: float(sqs_attributes.DEFAULTS["MessageRetentionPeriod"]),
    ),
    (
        MESSAGING,
        "SQS retention",
        r"\(" + N + U,
        lambda: sqs_attributes.RANGES["MessageRetentionPeriod"][0],
    ),
    (
        MESSAGING,
        "SQS retention",
        DASH + N + U,
        lambda: sqs_attributes.RANGES["MessageRetentionPeriod"][1],
    ),
    (MESSAGING, "SQS delay", "0" + DASH + N + U, lambda: core.MAX_DELAY),
    (MESSAGING, "SQS delay", "0" + DASH + N + U, lambda: sqs_attributes.RANGES["DelaySeconds"][1]),
    (MESSAGING, "SQS FIFO", r"window " + N + U, lambda: core.DEDUPLICATION_WINDOW),
    (MESSAGING, "message size", "^" + N + U, lambda: core.MAX_MESSAGE_BYTES),
    (
        MESSAGING,
        "message size",
        "^" + N + U,
        lambda: float(sqs_attributes.DEFAULTS["MaximumMessageSize"]),
    ),
]

# Rows that state behaviour rather than a number the code keeps in one place; the tests of
# each feature (tests/unit/orchestrator/...) cover them.
BEHAVIOUR_ONLY = {
    (ASG, item)
    for item in (
        "capacity",
        "health check types",
        "target tracking",
        "queue backlog metric",
        "step scaling",
        "scheduled actions",
        "scale-in protection",
        "termination policies",
        "Default termination order",
        "AZ rebalance",
        "warm pools",
        "instance refresh",
        "mixed instances",
        "spot",
        "lifecycle states",
    )
} | {
    (ECS, "task states"),
    (ECS, "placement strategies"),
    (ELB, "ALB rule conditions"),
    (ELB, "ALB actions"),
    (ELB, "target states"),
    (ELB, "routing algorithms"),
    (ELB, "slow start"),
    (ELB, "NLB"),
    (MESSAGING, "SNS FIFO topics"),
    (MESSAGING, "SQS redrive"),
}


def test_every_row_is_checked_or_named_as_behaviour():
    checked = {(section, item) for section, item, _, _ in CHECKS}
    rows = set(table())
    assert checked <= rows, f"CHECKS names rows the doc lacks: {sorted(checked - rows)}"
    assert rows >= BEHAVIOUR_ONLY, f"rows the doc lacks: {sorted(BEHAVIOUR_ONLY - rows)}"
    assert rows - checked - BEHAVIOUR_ONLY == set(), (
        "place each new row in CHECKS or BEHAVIOUR_ONLY"
    )


@pytest.mark.parametrize(
    ("section", "item", "pattern", "code"),
    CHECKS,
    ids=[f"{item}:{pattern}" for _, item, pattern, _ in CHECKS],
)
def test_the_code_keeps_the_documented_aws_value(
    section: str, item: str, pattern: str, code: Callable[[], float]
):
    documented = number(table()[(section, item)], pattern)
    assert float(code()) == documented


def test_slow_start_is_off_by_default_as_documented():
    assert "off by default" in table()[(ELB, "slow start")]
    assert field_default(elb_model.TargetGroupAttributes, "slow_start_duration_seconds") == 0


def test_a_lifecycle_hook_abandons_by_default_as_documented():
    assert "default ABANDON" in table()[(ASG, "lifecycle hooks")]
    assert (
        field_default(hooks.LifecycleHook, "default_result") is hooks.LifecycleActionResult.ABANDON
    )
