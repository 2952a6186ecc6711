"""The ECS controller killed (SIGKILL) in the middle of a rolling deployment and started
again: the deployment completes with the desired count, no task started twice, no old task
left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.ecs import operations
from orchestrator.ecs.model import TaskStatus
from orchestrator.ecs.state import EcsStore
from tests.support.containers import SESSION_ID, SESSION_LABEL, stable_image
from tests.support.ecs import session_task_runtime, stop_session_tasks
from tests.support.receiving import wait_for

pytestmark = pytest.mark.docker

DESIRED = 3
# The controller's loop in its own process, as the orchestrator runs it; killed with SIGKILL.
LOOP = """
import sys, time
from orchestrator.clock import ScaledClock
from orchestrator.ecs.controller import EcsController
from orchestrator.runtime.tasks import DockerTaskRuntime
from orchestrator.time_scale import TimeScale
path, origin, label, session = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
controller = EcsController(
    path,
    DockerTaskRuntime(labels={label: session}),
    clock=ScaledClock(origin, TimeScale(5)),
    time_scale=TimeScale(5),
)
while True:
    controller.reconcile_once()
    time.sleep(0.1)
"""


def sleeper(note: str) -> dict[str, object]:
    return {
        "family": "sleeper",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "app",
                "image": stable_image("python"),
                "command": ["python3", "-c", "import time; time.sleep(3600)"],
                "environment": [{"name": "NOTE", "value": note}],
                "stopTimeout": 1,
            }
        ],
    }


class Loop:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.origin = time.time()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LOOP,
                str(self.path),
                repr(self.origin),
                SESSION_LABEL,
                SESSION_ID,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Loop]:
    value = Loop(tmp_path / "barista.db")
    yield value
    if value.process is not None and value.process.poll() is None:
        value.kill()
    stop_session_tasks(session_task_runtime())


def test_a_controller_killed_mid_deployment_converges_without_duplicates(loop: Loop):
    runtime = session_task_runtime()
    with EcsStore(loop.path) as store:
        operations.create_cluster(store, "shop")
        operations.register_task_definition(store, sleeper("one"), loop.origin)
        operations.register_task_definition(store, sleeper("two"), loop.origin)
        operations.create_service(store, "shop", "web", "sleeper:1", DESIRED, now=loop.origin)
        loop.start()

        def completed_on(revision: str) -> bool:
            service = store.service("shop", "web")
            assert service is not None
            live = [t for t in store.tasks(service="web", stopped=False)]
            return (
                service.task_definition == revision
                and [d.rollout_state for d in service.deployments] == ["COMPLETED"]
                and len(live) == DESIRED
                and all(t.last_status is TaskStatus.RUNNING for t in live)
            )

        assert wait_for(lambda: completed_on("sleeper:1"), timeout=60)
        operations.update_service(
            store, "shop", "web", task_definition="sleeper:2", now=time.time()
        )

        def new_tasks_launched() -> bool:
            return any(
                t.task_definition == "sleeper:2" and t.launched
                for t in store.tasks(service="web", stopped=False)
            )

        assert wait_for(new_tasks_launched, timeout=60, interval=0.02)
        loop.kill()  # mid-deployment: new tasks starting, old ones still running
        old_live = [
            t for t in store.tasks(service="web", stopped=False) if t.task_definition == "sleeper:1"
        ]
        assert old_live, "killed before the old tasks were gone"
        loop.start()
        assert wait_for(lambda: completed_on("sleeper:2"), timeout=120)

    per_task = Counter(c.task_id for c in runtime.task_containers())
    assert len(per_task) == DESIRED
    assert set(per_task.values()) == {1}, "one container per task: none started twice"
    definitions = {c.task_definition for c in runtime.task_containers()}
    assert definitions == {"sleeper:2"}
