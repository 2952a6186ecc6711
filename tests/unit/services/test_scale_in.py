"""A barista in Terminating:Wait finishes the order in hand, takes no other, and completes its
terminate hook; the same questions asked of the orchestrator's AWS API over real HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.api import ApiContext
from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.hooks import put_lifecycle_hook
from orchestrator.asg.lifecycle import LifecycleState
from orchestrator.asg.operations import AutoScaling
from orchestrator.asg.store import Store
from orchestrator.elb.state import ElbStore
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime
from services.barista import Barista, BaristaSettings
from services.ledger import OrderState
from services.messaging import declare_orders
from services.orders import Customer, Order, OrderItem
from services.scale_in import (
    WAITING_TO_TERMINATE,
    BotocoreAutoScaling,
    ScaleInWatcher,
    complete_after_work,
)
from tests.support.aws_endpoint import CREDENTIALS, KEY_ID, SECRET, serve
from tests.unit.services.fakes import FakeLedger, RecordingBroker


class GroupSays:
    """What EC2 Auto Scaling answers about this instance, and the completions it got."""

    def __init__(self, state: str = "InService") -> None:
        self.state = state
        self.completed: list[str] = []
        self.failures = 0

    def lifecycle_state(self) -> str | None:
        return self.state

    def complete(self, result: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("orchestrator restarting")
        self.completed.append(result)


def order(order_id: str) -> bytes:
    return (
        Order(
            customer=Customer(id="c-1", name="Ada"),
            items=[OrderItem(item="espresso", quantity=1)],
            order_id=order_id,
            accepted_at=datetime.now(UTC),
        )
        .model_dump_json()
        .encode()
    )


def test_the_watcher_sets_leaving_only_in_terminating_wait():
    group = GroupSays()
    leaving, stopping = threading.Event(), threading.Event()
    watcher = ScaleInWatcher(group, leaving, stopping)
    assert not watcher.check_once()
    group.state = "Terminating"  # the hooks have not started yet
    assert not watcher.check_once()
    assert not leaving.is_set()
    group.state = WAITING_TO_TERMINATE
    assert watcher.check_once()
    assert leaving.is_set()


def test_a_busy_barista_finishes_its_order_then_completes_the_hook_and_takes_no_more():
    broker, ledger = RecordingBroker(), FakeLedger()
    declare_orders(broker, "orders", "orders-dlq", 3, 30.0)
    broker.send("orders", order("o-1"))
    broker.send("orders", order("o-2"))
    settings = BaristaSettings.model_validate(
        {
            "broker_url": "redis://broker:6379/0",
            "ledger_url": "redis://ledger:6379/1",
            "brew_seconds_per_unit": 0.0,
            "name": "barista-test",
        }
    )
    leaving, stopping = threading.Event(), threading.Event()
    group = GroupSays()
    brewed = ledger.brewed

    def scale_in_while_brewing(order_id: str) -> int:
        # The group scales in while the first cup is in the barista's hands.
        group.state = WAITING_TO_TERMINATE
        ScaleInWatcher(group, leaving, stopping).check_once()
        return brewed(order_id)

    ledger.brewed = scale_in_while_brewing  # type: ignore[method-assign]
    barista = Barista(settings, broker, ledger, stopping, leaving)  # type: ignore[arg-type]
    barista.run()  # returns: leaving, with the cup in hand finished
    assert ledger.states == {"o-1": OrderState.BREWED}
    assert broker.backlog("orders").visible == 1  # o-2 is left for another barista
    group.failures = 1
    assert complete_after_work(group, stopping, pause=lambda _seconds: None)
    assert group.completed == ["CONTINUE"]


def test_the_barista_asks_and_completes_through_the_aws_api(tmp_path: Path):
    runtime = FakeRuntime(start=datetime(2026, 11, 28, tzinfo=UTC).timestamp())
    store_path = tmp_path / "barista.db"
    with Store(store_path) as store:
        store.put_launch_template(create_launch_template("b", LaunchTemplateData(image="x")))
        store.put_group(
            create_auto_scaling_group(
                "baristas",
                "b",
                min_size=0,
                max_size=2,
                desired_capacity=1,
                availability_zones=("az-a",),
            )
        )
        store.put_lifecycle_hook(
            put_lifecycle_hook(
                None,
                lifecycle_hook_name="finish-the-cup",
                auto_scaling_group_name="baristas",
                hooks_in_group=0,
                lifecycle_transition="autoscaling:EC2_INSTANCE_TERMINATING",
            )
        )
        controller = AutoScalingController(store, runtime)
        controller.reconcile_once()
        (instance,) = runtime.instances("baristas")
        context = ApiContext(store_path, runtime, credentials=CREDENTIALS)
        with serve(context) as endpoint:
            me = BotocoreAutoScaling.connect(
                endpoint.url, KEY_ID, SECRET, instance.instance_id, "finish-the-cup"
            )
            assert me.lifecycle_state() == "InService"
            AutoScaling(store, runtime, ElbStore(store_path)).set_desired_capacity("baristas", 0)
            controller.reconcile_once()
            assert me.lifecycle_state() == WAITING_TO_TERMINATE
            me.complete("CONTINUE")
        assert store.instance_lifecycles()[instance.instance_id].state is (
            LifecycleState.TERMINATING_WAIT
        )
        controller.reconcile_once()
        assert runtime.terminated == [instance.instance_id]
