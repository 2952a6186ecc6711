"""The barista's warm wait against the orchestrator's real metadata routes (over HTTP, IMDSv2):
a barista in a Running warm pool waits, started and connected, until its group takes it, and
only then works; one the metadata service cannot reach works at once, as before."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.api import ApiContext
from orchestrator.api.instance_metadata import routes
from orchestrator.asg import create_auto_scaling_group, set_desired_capacity
from orchestrator.asg.controller import AutoScalingController
from orchestrator.asg.lifecycle import LifecycleState
from orchestrator.asg.store import Store
from orchestrator.asg.warm_pool import WarmPool, WarmPoolState
from orchestrator.instances import Health, metadata_endpoint
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from orchestrator.runtime.fake import FakeRuntime
from services.spot_notice import InstanceMetadata
from services.warm_start import wait_until_in_service
from tests.support.aws_endpoint import serve
from tests.support.receiving import wait_for

START = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "barista.db") as opened:
        opened.put_launch_template(
            create_launch_template("baristas", LaunchTemplateData(image="barista/service:latest"))
        )
        opened.put_group(
            create_auto_scaling_group(
                "baristas",
                "baristas",
                min_size=0,
                max_size=2,
                desired_capacity=1,
                availability_zones=("az-a",),
            )
        )
        opened.put_warm_pool(WarmPool("baristas", pool_state=WarmPoolState.RUNNING))
        yield opened


def test_a_running_warm_barista_waits_until_its_group_takes_it(store: Store) -> None:
    runtime = FakeRuntime(start=START)
    controller = AutoScalingController(store, runtime)
    for _ in range(3):
        controller.reconcile_once()
    (warm,) = (i for i, r in store.instance_lifecycles().items() if r.state.warmed)
    assert store.instance_lifecycles()[warm].state is LifecycleState.WARMED_RUNNING
    context = ApiContext(store.path, runtime)
    with serve(context, routes(context)) as endpoint:
        metadata = InstanceMetadata(metadata_endpoint(endpoint.url, warm))
        stopping = threading.Event()
        answers: list[str | None] = []
        waiter = threading.Thread(
            target=lambda: answers.append(wait_until_in_service(metadata, stopping, 0.02))
        )
        waiter.start()
        # It has asked (and been told Warmed:Running) several times, and still waits.
        assert not wait_for(lambda: not waiter.is_alive(), timeout=0.5)
        store.put_group(set_desired_capacity(store.groups()["baristas"], 2, now=runtime.now()))
        controller.reconcile_once()
        assert store.instance_lifecycles()[warm].state in (
            LifecycleState.PENDING,
            LifecycleState.IN_SERVICE,
        )
        waiter.join(timeout=10)
    assert answers == ["InService"]
    assert next(i for i in runtime.instances() if i.instance_id == warm).health is Health.HEALTHY


def test_a_warm_barista_whose_pool_is_deleted_is_told_terminated(store: Store) -> None:
    runtime = FakeRuntime(start=START)
    controller = AutoScalingController(store, runtime)
    for _ in range(3):
        controller.reconcile_once()
    (warm,) = (i for i, r in store.instance_lifecycles().items() if r.state.warmed)
    store.put_warm_pool(WarmPool("baristas", pool_state=WarmPoolState.RUNNING, pending_delete=True))
    context = ApiContext(store.path, runtime)
    with serve(context, routes(context)) as endpoint:
        metadata = InstanceMetadata(metadata_endpoint(endpoint.url, warm))
        assert wait_until_in_service(metadata, threading.Event(), 0.02) == "Terminated"


def test_without_a_reachable_metadata_service_the_barista_works_at_once() -> None:
    # A port nothing listens on: refused at once.
    metadata = InstanceMetadata("http://127.0.0.1:9/metadata/i-1/")
    assert wait_until_in_service(metadata, threading.Event(), 0.02) is None


def test_once_answered_a_failed_question_is_asked_again() -> None:
    replies: list[str | OSError] = ["Warmed:Running", OSError("refused"), "InService"]

    class Flaky:
        def get(self, path: str) -> str | None:
            reply = replies.pop(0)
            if isinstance(reply, OSError):
                raise reply
            return reply

    assert wait_until_in_service(Flaky(), threading.Event(), 0.01) == "InService"
    assert replies == []
