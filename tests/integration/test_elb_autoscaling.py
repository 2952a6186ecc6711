"""Target groups attached to an Auto Scaling group: scale-in drains, ELB health replaces."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.store import Store
from orchestrator.elb.model import Action, Protocol, TargetGroup
from orchestrator.instances import Health
from orchestrator.launch_templates import create_launch_template
from tests.support.load_balancing import (
    FAST_CHECK,
    TARGET_TEMPLATE,
    ElbStack,
    get,
    target_template_data,
)
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

HTTP_PORT = 9080
GROUP = "web"


@pytest.fixture
def store(stack: ElbStack) -> Iterator[Store]:
    with Store(stack.store_path) as value:
        value.put_launch_template(
            create_launch_template(TARGET_TEMPLATE, target_template_data(stack.network))
        )
        yield value


def attached_group(stack: ElbStack, store: Store, health_check_type: str) -> TargetGroup:
    store.put_group(
        create_auto_scaling_group(
            GROUP,
            TARGET_TEMPLATE,
            min_size=0,
            max_size=3,
            desired_capacity=2,
            availability_zones=("us-east-1a", "us-east-1b"),
            health_check_type=health_check_type,
        )
    )
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
    return target_group


def autoscaling(stack: ElbStack, store: Store) -> AutoScalingController:
    return AutoScalingController(
        store,
        stack.runtime,
        drain=stack.controller,
        elb_unhealthy=stack.controller.elb_unhealthy,
    )


def running(stack: ElbStack) -> set[str]:
    return {i.instance_id for i in stack.runtime.instances(GROUP) if i.health is not Health.STOPPED}


def test_scale_in_drains_the_target_so_a_request_in_flight_completes(stack: ElbStack, store: Store):
    target_group = attached_group(stack, store, "EC2")
    asg = autoscaling(stack, store)
    asg.reconcile_once()
    assert stack.converge_until_healthy(target_group.target_group_arn, 2)

    with ThreadPoolExecutor(max_workers=2) as pool:
        in_flight = pool.submit(get, stack.haproxy.url(HTTP_PORT, "/slow?ms=3000"))
        busy: list[str] = []

        def one_server_busy() -> bool:
            busy[:] = [s.name for s in stack.haproxy.api.servers() if s.current_sessions > 0]
            return len(busy) == 1

        assert wait_for(one_server_busy, timeout=10)
        victim = next(i for i in running(stack) if busy[0].startswith(i))
        survivor = (running(stack) - {victim}).pop()

        stopping = threading.Event()
        statuses: list[int] = []

        def steady_traffic() -> None:
            while not stopping.is_set():
                statuses.append(get(stack.haproxy.url(HTTP_PORT, "/menu"))[0])

        traffic = pool.submit(steady_traffic)
        group = store.groups()[GROUP]
        store.put_group(
            dataclasses.replace(
                group, desired_capacity=1, protected_instance_ids=frozenset({survivor})
            )
        )
        started = time.monotonic()

        def victim_gone() -> bool:
            # Neither pass waits: the load balancer drains on its passes, and the group
            # stops the victim on the pass after draining is over.
            stack.controller.reconcile_once()
            asg.reconcile_once()
            return victim not in running(stack)

        assert wait_for(victim_gone, timeout=60)
        drained_after = time.monotonic() - started
        stopping.set()
        traffic.result()
        status, body = in_flight.result()

    assert (status, body.split(" ")[1].strip()) == (200, "/slow")
    assert running(stack) == {survivor}
    # Draining ended once the request finished, long before the 300 s (30 s scaled) delay.
    assert drained_after < 20
    assert statuses, "traffic should have flowed during the scale-in"
    assert set(statuses) == {200}, f"{statuses.count(200)} of {len(statuses)} answered 200"
    stack.controller.reconcile_once()  # forgets the terminated instance
    assert stack.controller.differences() == []
    assert set(stack.health(target_group.target_group_arn)) == {(survivor, 8000)}


def test_a_target_failing_its_health_check_is_taken_out_and_replaced_under_elb_health_checks(
    stack: ElbStack, store: Store
):
    target_group = attached_group(stack, store, "ELB")
    asg = autoscaling(stack, store)
    asg.reconcile_once()
    assert stack.converge_until_healthy(target_group.target_group_arn, 2)
    first = running(stack)

    # The target answering this request starts failing its health check.
    _, body = get(stack.haproxy.url(HTTP_PORT, "/fail-health"))
    failing_host = body.split(" ")[0]
    victim = next(
        i.instance_id for i in stack.runtime.instances(GROUP) if i.container_id[:12] == failing_host
    )
    assert wait_for(lambda: stack.controller.elb_unhealthy(GROUP) == {victim}, timeout=15)
    survivor_host = next(
        i.container_id[:12] for i in stack.runtime.instances(GROUP) if i.instance_id != victim
    )
    answers = {get(stack.haproxy.url(HTTP_PORT, "/menu"))[1].split(" ")[0] for _ in range(20)}
    assert answers == {survivor_host}, "an unhealthy target must get no requests"

    asg.reconcile_once()  # replaces the instance the target group finds unhealthy

    def back_to_two() -> bool:
        stack.controller.reconcile_once()  # drains the victim, which the group then stops
        asg.reconcile_once()
        return len(running(stack)) == 2 and victim not in running(stack)

    assert wait_for(back_to_two, timeout=30)
    assert victim not in running(stack)
    assert len(running(stack) - first) == 1
    assert stack.converge_until_healthy(target_group.target_group_arn, 2)
    assert {target for target, _ in stack.health(target_group.target_group_arn)} == running(stack)


def test_another_group_scales_out_while_one_drains_for_its_deregistration_delay(
    stack: ElbStack, store: Store
):
    """Draining is a state, not a wait: every pass returns while the victim still drains a
    request in flight, and another group launches in those same passes."""
    target_group = attached_group(stack, store, "EC2")
    asg = autoscaling(stack, store)
    asg.reconcile_once()
    assert stack.converge_until_healthy(target_group.target_group_arn, 2)
    store.put_group(
        create_auto_scaling_group(
            "others",
            TARGET_TEMPLATE,
            min_size=0,
            max_size=2,
            desired_capacity=0,
            availability_zones=("us-east-1a",),
        )
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_flight = pool.submit(get, stack.haproxy.url(HTTP_PORT, "/slow?ms=15000"), timeout=30)
        busy: list[str] = []

        def one_server_busy() -> bool:
            busy[:] = [s.name for s in stack.haproxy.api.servers() if s.current_sessions > 0]
            return len(busy) == 1

        assert wait_for(one_server_busy, timeout=10)
        victim = next(i for i in running(stack) if busy[0].startswith(i))
        survivor = (running(stack) - {victim}).pop()
        group = store.groups()[GROUP]
        store.put_group(
            dataclasses.replace(
                group, desired_capacity=1, protected_instance_ids=frozenset({survivor})
            )
        )
        others = store.groups()["others"]
        store.put_group(dataclasses.replace(others, desired_capacity=2))
        asg.reconcile_once()  # victim into Terminating:Wait, two "others" launched
        stack.controller.reconcile_once()  # HAProxy starts draining the victim
        asg.reconcile_once()
        launched = {i.instance_id for i in stack.runtime.instances("others")}
        assert len(launched) == 2, "the other group must not wait for the drain"
        assert victim in running(stack), "the victim is still draining its request"
        assert not in_flight.done()

        def victim_gone() -> bool:
            stack.controller.reconcile_once()
            asg.reconcile_once()
            return victim not in running(stack)

        assert wait_for(victim_gone, timeout=60)
        status, body = in_flight.result()
    assert (status, body.split(" ")[1].strip()) == (200, "/slow")
    for instance in stack.runtime.instances("others"):
        stack.runtime.terminate(instance.instance_id, stop_timeout=0)
