"""ECS control planes over this test session's Docker engine, for the ECS integration tests.

Every task container a test starts carries the session's label, so the clean-up after a test
stops exactly what this session started, by task id, and nothing else on the engine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.clock import ScaledClock
from orchestrator.ecs.controller import EcsController
from orchestrator.ecs.load_balancing import TargetRegistry
from orchestrator.runtime.tasks import DockerTaskRuntime
from orchestrator.time_scale import TimeScale
from tests.support.containers import SESSION_ID, SESSION_LABEL


def session_task_runtime() -> DockerTaskRuntime:
    """A task runtime whose containers carry this test session's label."""
    return DockerTaskRuntime(labels={SESSION_LABEL: SESSION_ID})


def stop_session_tasks(runtime: DockerTaskRuntime) -> None:
    """Stop every task the runtime sees: only this session's, since it filters by the label."""
    for task_id in {c.task_id for c in runtime.task_containers()}:
        runtime.stop_task(task_id)


@contextmanager
def ecs_controller(
    store_path: Path,
    scale: TimeScale,
    *,
    targets: TargetRegistry | None = None,
    network: str | None = None,
) -> Iterator[EcsController]:
    """An ECS controller on a scaled clock starting from now; its tasks stopped afterwards."""
    runtime = session_task_runtime()
    controller = EcsController(
        store_path,
        runtime,
        clock=ScaledClock(time.time(), scale),
        time_scale=scale,
        targets=targets,
        network=network,
    )
    try:
        yield controller
    finally:
        stop_session_tasks(runtime)
        controller.close()
