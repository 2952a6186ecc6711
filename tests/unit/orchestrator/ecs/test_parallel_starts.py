"""The ECS controller starting a pass's tasks several at once: bounded, placed one by one,
and a task that fails to start stopped alone."""

from __future__ import annotations

import threading
from pathlib import Path

from orchestrator.ecs import operations
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.model import StopCode, TaskStatus
from orchestrator.ecs.state import EcsStore
from orchestrator.runtime.tasks import FakeTaskRuntime, TaskSpec

WORKERS = 3
TASKS = 9


class GatedTasks(FakeTaskRuntime):
    """Starts wait until ``width`` are in flight together (or all have begun); the start of
    the ``fail_at``-th task raises."""

    def __init__(self, width: int, total: int, fail_at: int) -> None:
        super().__init__()
        self.width, self.total, self.fail_at = width, total, fail_at
        self.in_flight = self.most = self.begun = 0
        self.failed: str | None = None
        self._cond = threading.Condition()
        self._fake = threading.Lock()

    def start_task(self, spec: TaskSpec) -> None:
        with self._cond:
            self.in_flight += 1
            self.begun += 1
            number = self.begun
            self.most = max(self.most, self.in_flight)
            self._cond.notify_all()
            opened = self._cond.wait_for(
                lambda: self.in_flight >= self.width or self.begun >= self.total, timeout=10
            )
            assert opened, f"{self.in_flight} starts in flight, {self.begun} begun"
        try:
            if number == self.fail_at:
                self.failed = spec.task_id
                raise RuntimeError("no space left on device")
            with self._fake:
                super().start_task(spec)
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()


def test_a_pass_starts_tasks_at_most_start_workers_at_once_and_one_failure_stops_one(
    tmp_path: Path,
):
    runtime = GatedTasks(WORKERS, TASKS, fail_at=4)
    controller = EcsController(tmp_path / "b.db", runtime, clock=lambda: 1000.0, start_workers=3)
    with EcsStore(tmp_path / "b.db") as store:
        operations.create_cluster(store, "shop")
        operations.register_task_definition(
            store,
            {
                "family": "web",
                "containerDefinitions": [
                    {"name": "app", "image": "barista/service:latest", "memory": 64, "cpu": 64}
                ],
            },
            1000.0,
        )
        # Room for every task on one instance: placement is not what is tested here.
        operations.register_container_instance(store, "shop", cpu=4096, memory=4096, now=1000.0)
        operations.create_service(store, "shop", "web", "web:1", TASKS, now=1000.0)
        controller.reconcile_once()
        assert runtime.most == WORKERS  # parallel, and bounded
        failed = store.task(str(runtime.failed))
        assert failed is not None
        assert failed.desired_status is TaskStatus.STOPPED
        assert failed.stop_code is StopCode.TASK_FAILED_TO_START
        assert failed.stopped_reason == "CannotStartContainerError: no space left on device"
        started = [t for t in store.tasks(cluster="shop") if t.task_id != runtime.failed]
        assert len(started) == TASKS - 1
        assert all(t.launched and t.desired_status is TaskStatus.RUNNING for t in started)
        assert sorted(runtime.specs) == sorted(t.task_id for t in started)
    controller.close()
