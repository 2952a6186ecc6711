"""An Auto Scaling group of real containers: the controller over the Docker runtime."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from orchestrator.asg import create_auto_scaling_group, set_desired_capacity
from orchestrator.controller import AutoScalingController
from orchestrator.launch_templates import create_launch_template
from orchestrator.model import Health, LaunchTemplateData
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.state import Store
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[AutoScalingController]:
    runtime = DockerRuntime(labels={SESSION_LABEL: SESSION_ID})
    with Store(tmp_path / "barista.db") as store:
        store.put_launch_template(
            create_launch_template(
                "health",
                LaunchTemplateData(
                    image=stable_image("service"), command=("serve", "health"), stop_timeout=5
                ),
            )
        )
        store.put_group(
            create_auto_scaling_group(
                "web",
                "health",
                min_size=0,
                max_size=4,
                desired_capacity=2,
                availability_zones=("az-a", "az-b"),
            )
        )
        yield AutoScalingController(store, runtime)
        for instance in runtime.instances("web"):
            runtime.terminate(instance.instance_id, stop_timeout=1)


def running(controller: AutoScalingController) -> list[str]:
    return sorted(
        i.instance_id for i in controller.runtime.instances("web") if i.health is not Health.STOPPED
    )


def test_a_group_of_containers_converges_and_a_killed_one_is_replaced(
    controller: AutoScalingController,
):
    controller.reconcile_once()
    first = running(controller)
    assert len(first) == 2
    assert {i.availability_zone for i in controller.runtime.instances("web")} == {"az-a", "az-b"}
    assert not controller.reconcile_once().changed, "a second pass must do nothing"

    victim = controller.runtime.instances("web")[0]
    # Killed behind the orchestrator's back, as a crash would.
    docker.from_env().containers.get(victim.container_id).kill()
    assert wait_for(lambda: victim.instance_id not in running(controller), timeout=30), (
        "the runtime should see the killed container as stopped"
    )
    controller.reconcile_once()
    after = running(controller)
    assert len(after) == 2
    assert victim.instance_id not in after


def test_scale_in_terminates_down_to_the_new_desired_capacity(controller: AutoScalingController):
    controller.reconcile_once()
    group = controller.store.groups()["web"]
    controller.store.put_group(set_desired_capacity(group, 1))
    controller.reconcile_once()
    assert len(running(controller)) == 1
    causes = [a.description for a in controller.store.activities("web")]
    assert sum(c.startswith("Terminating") for c in causes) == 1
