"""FakeRuntime keeps the Runtime protocol's promises, so reconciler tests on it mean something."""

from __future__ import annotations

import pytest

from orchestrator.instances import Health, Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime import InstanceIdInUse, Runtime
from orchestrator.runtime.fake import Call, FakeRuntime

TEMPLATE = LaunchTemplateData(image="barista/service:latest", stop_timeout=30.0)


def launch(runtime: Runtime, group: str, instance_id: str, **overrides):
    options = {
        "template_name": "web",
        "template_version": 3,
        "data": TEMPLATE,
        "availability_zone": "az-a",
        "lifecycle": Lifecycle.ON_DEMAND,
        "protected": False,
        **overrides,
    }
    return runtime.launch(group, instance_id, **options)


def test_fake_satisfies_the_runtime_protocol():
    runtime: Runtime = FakeRuntime()
    assert isinstance(runtime, Runtime)


def test_launch_reports_what_instances_lists():
    runtime = FakeRuntime(start=500.0)
    instance = launch(
        runtime,
        "web",
        "i-1",
        availability_zone="az-b",
        lifecycle=Lifecycle.SPOT,
        protected=True,
    )
    assert runtime.instances() == [instance]
    assert instance.launched_at == 500.0
    assert instance.availability_zone == "az-b"
    assert instance.lifecycle is Lifecycle.SPOT
    assert instance.protected_at_launch
    assert instance.template_version == 3
    assert instance.health is Health.HEALTHY


def test_initial_health_can_start_as_starting_for_grace_period_tests():
    runtime = FakeRuntime(initial_health=Health.STARTING)
    assert launch(runtime, "web", "i-1").health is Health.STARTING


def test_instances_are_filtered_by_group():
    runtime = FakeRuntime()
    launch(runtime, "web", "i-1")
    launch(runtime, "worker", "i-2")
    launch(runtime, "web", "i-3")
    assert sorted(i.instance_id for i in runtime.instances("web")) == ["i-1", "i-3"]
    assert [i.instance_id for i in runtime.instances("worker")] == ["i-2"]
    assert runtime.instances("nobody") == []
    assert len(runtime.instances()) == 3


def test_instance_ids_are_never_reused_even_after_termination():
    runtime = FakeRuntime()
    launch(runtime, "web", "i-1")
    with pytest.raises(InstanceIdInUse):
        launch(runtime, "other", "i-1")
    runtime.terminate("i-1")
    with pytest.raises(InstanceIdInUse):
        launch(runtime, "web", "i-1")


def test_terminate_is_idempotent_and_records_only_real_terminations():
    runtime = FakeRuntime()
    launch(runtime, "web", "i-1")
    runtime.terminate("i-1")
    runtime.terminate("i-1")
    runtime.terminate("never-existed")
    assert runtime.instances() == []
    assert runtime.terminated == ["i-1"]


def test_terminate_uses_the_template_stop_timeout_unless_given_one():
    runtime = FakeRuntime(start=0.0)
    launch(runtime, "web", "i-1")
    launch(runtime, "web", "i-2")
    runtime.advance(5)
    runtime.terminate("i-1")
    runtime.terminate("i-2", stop_timeout=2.0)
    assert runtime.calls == [
        Call("launch", "i-1", 0.0),
        Call("launch", "i-2", 0.0),
        Call("terminate", "i-1", 5.0, 30.0),
        Call("terminate", "i-2", 5.0, 2.0),
    ]


def test_a_dead_instance_stays_listed_as_stopped_until_terminated():
    runtime = FakeRuntime()
    launch(runtime, "web", "i-1")
    runtime.set_health("i-1", Health.STOPPED)
    assert [i.health for i in runtime.instances("web")] == [Health.STOPPED]
    runtime.terminate("i-1")
    assert runtime.instances("web") == []


def test_clock_moves_only_forward_and_only_when_advanced():
    runtime = FakeRuntime(start=100.0)
    assert runtime.now() == 100.0
    runtime.advance(2.5)
    assert runtime.now() == 102.5
    assert launch(runtime, "web", "i-1").launched_at == 102.5
    with pytest.raises(ValueError, match="forward"):
        runtime.advance(-1)


def test_cpu_is_none_until_set_and_for_stopped_or_unknown_instances():
    runtime = FakeRuntime()
    launch(runtime, "web", "i-1")
    assert runtime.cpu_percent("i-1") is None
    runtime.set_cpu("i-1", 72.5)
    assert runtime.cpu_percent("i-1") == 72.5
    runtime.set_health("i-1", Health.STOPPED)
    assert runtime.cpu_percent("i-1") is None
    assert runtime.cpu_percent("unknown") is None


def test_launch_and_terminate_are_recorded_in_order():
    runtime = FakeRuntime()
    launch(runtime, "web", "i-1")
    launch(runtime, "web", "i-2")
    runtime.terminate("i-2")
    launch(runtime, "web", "i-3")
    assert runtime.launched == ["i-1", "i-2", "i-3"]
    assert [(c.action, c.instance_id) for c in runtime.calls] == [
        ("launch", "i-1"),
        ("launch", "i-2"),
        ("terminate", "i-2"),
        ("launch", "i-3"),
    ]
