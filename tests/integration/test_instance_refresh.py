"""An instance refresh behind the ALB on real HAProxy and containers, under `wrk`: the group
is replaced onto a new launch template version with no failed request and never fewer healthy
instances in service than MinHealthyPercentage allows; then a second refresh is rolled back
midway and the group returns to the version it had. Slow (about a minute): marker
``lifecycle``, run by ``make test-lifecycle``."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator

import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.instance_refresh import RefreshStatus, preferences
from orchestrator.asg.lifecycle import LifecycleState
from orchestrator.asg.refresh_operations import InstanceRefreshes
from orchestrator.asg.store import Store
from orchestrator.elb.model import Action, Protocol
from orchestrator.instances import Health
from orchestrator.launch_templates import create_launch_template
from tests.support.load_balancing import (
    FAST_CHECK,
    TARGET_TEMPLATE,
    ElbStack,
    target_template_data,
)
from tests.support.receiving import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.lifecycle]

HTTP_PORT = 9081
GROUP = "web"
DESIRED = 4
MIN_HEALTHY = 50


@pytest.fixture
def store(stack: ElbStack) -> Iterator[Store]:
    with Store(stack.store_path) as value:
        data = target_template_data(stack.network)
        template = create_launch_template(TARGET_TEMPLATE, data)
        for version in (2, 3):
            environment = {**data.environment, "TEMPLATE_VERSION": str(version)}
            template = template.create_version(dataclasses.replace(data, environment=environment))
        value.put_launch_template(template)
        value.put_group(
            create_auto_scaling_group(
                GROUP,
                TARGET_TEMPLATE,
                min_size=1,
                max_size=6,
                desired_capacity=DESIRED,
                availability_zones=("us-east-1a", "us-east-1b"),
                launch_template_version="1",
                health_check_type="ELB",
            )
        )
        yield value


class Wrk:
    """`wrk` through the ALB until stopped (SIGINT makes it print its summary)."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [shutil.which("wrk") or "wrk", "-t2", "-c8", "-d300s", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=30)
        return out


def summary(out: str) -> tuple[int, int, int]:
    """(requests, non-2xx/3xx responses, socket errors) from wrk's summary."""
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return (
        requests,
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
    )


def versions_in_service(stack: ElbStack, store: Store) -> list[int]:
    records = store.instance_lifecycles(GROUP)
    return sorted(
        i.template_version
        for i in stack.runtime.instances(GROUP)
        if i.health is Health.HEALTHY
        and i.instance_id in records
        and records[i.instance_id].state is LifecycleState.IN_SERVICE
    )


def drive(
    stack: ElbStack,
    arn: str,
    asg: AutoScalingController,
    done: Callable[[], bool],
    timeout: float = 150,
) -> list[int]:
    """Both controllers' passes until ``done``; healthy targets counted after each pass."""
    healthy_targets: list[int] = []

    def passes() -> bool:
        stack.controller.reconcile_once()
        asg.reconcile_once()
        states = stack.health(arn).values()
        healthy_targets.append(sum(1 for s in states if s == "healthy"))
        return done()

    assert wait_for(passes, timeout=timeout, interval=0.2)
    return healthy_targets


def status(store: Store) -> RefreshStatus:
    return store.instance_refreshes(GROUP)[0].status


def test_a_refresh_behind_the_alb_fails_no_request_and_a_rollback_restores_the_version(
    stack: ElbStack, store: Store
):
    target_group = stack.elbv2.create_target_group(
        "web", Protocol.HTTP, 8000, health_check=FAST_CHECK
    )
    load_balancer = stack.elbv2.create_load_balancer("web")
    stack.elbv2.create_listener(
        load_balancer.load_balancer_arn,
        Protocol.HTTP,
        HTTP_PORT,
        [Action.forward(target_group.target_group_arn)],
    )
    stack.elbv2.attach_target_groups(GROUP, [target_group.target_group_arn])
    asg = AutoScalingController(
        store, stack.runtime, drain=stack.controller, elb_unhealthy=stack.controller.elb_unhealthy
    )
    asg.reconcile_once()
    assert stack.converge_until_healthy(target_group.target_group_arn, DESIRED)
    arn = target_group.target_group_arn
    refreshes = InstanceRefreshes(store, stack.runtime)
    # InstanceWarmup (AWS seconds, on this test's unscaled clock) covers the target
    # group's health check: a new instance counts once its target can be healthy.
    prefs = preferences(min_healthy_percentage=MIN_HEALTHY, instance_warmup=3)
    wrk = Wrk(stack.haproxy.url(HTTP_PORT, "/menu"))
    try:
        refreshes.start(GROUP, prefs, launch_template_name=TARGET_TEMPLATE, version="2")
        healthy = drive(stack, arn, asg, lambda: status(store) is RefreshStatus.SUCCESSFUL)
        assert versions_in_service(stack, store) == [2] * DESIRED
        # A second refresh, onto version 3, rolled back once its first batch is in service.
        refreshes.start(GROUP, prefs, launch_template_name=TARGET_TEMPLATE, version="3")
        healthy += drive(stack, arn, asg, lambda: 3 in versions_in_service(stack, store))
        refreshes.rollback(GROUP)
        assert store.groups()[GROUP].launch_template_version == "2"
        healthy += drive(
            stack, arn, asg, lambda: status(store) is RefreshStatus.ROLLBACK_SUCCESSFUL
        )
    finally:
        out = wrk.stop()
    assert versions_in_service(stack, store) == [2] * DESIRED
    requests, failed, errors = summary(out)
    print(out)
    assert requests > 100, out
    assert (failed, errors) == (0, 0), out
    # MinHealthyPercentage: never fewer healthy targets than half the desired capacity.
    assert min(healthy) >= math.ceil(DESIRED * MIN_HEALTHY / 100), healthy
    first, second = store.instance_refreshes(GROUP)[::-1]
    assert (first.status, first.percentage_complete) == (RefreshStatus.SUCCESSFUL, 100)
    assert second.status is RefreshStatus.ROLLBACK_SUCCESSFUL
