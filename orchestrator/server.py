"""``barista serve orchestrator``: the control plane as one process.

It runs the controllers on one thread, in a fixed order each pass (the scaling controller
decides desired capacity, then the Auto Scaling controller converges the groups to it), and
serves the HTTP API on another. Everything it knows lives in the SQLite store and on Docker
labels, so stopping it at any moment and starting it again picks up where it was.

Settings (``BARISTA_*`` environment variables):

- ``STATE_PATH``: the SQLite file (``barista.db``);
- ``TIME_SCALE``: how many times faster than AWS the control plane's clock runs (1);
- ``BROKER_URL``: the broker whose queue backlogs policies track (none: backlog unmeasured);
- ``API_HOST`` / ``API_PORT``: where the API listens (127.0.0.1:8500);
- ``RECONCILE_INTERVAL``: wall seconds between passes (1.0);
- ``INSTANCE_LABELS``: extra Docker labels ``key=value,…`` on every instance; the runtime then
  manages only containers that carry them (tests use it to keep runs apart);
- the dashboard's sources (``LOADGEN_URL``, ``LEDGER_URL``, …): see ``orchestrator.dashboard``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import uvicorn
from pydantic import Field

from broker_adapters import Broker
from orchestrator import dashboard
from orchestrator.api import ApiContext, create_app
from orchestrator.clock import ScaledClock
from orchestrator.controller import AutoScalingController
from orchestrator.monitoring import MetricsSampler
from orchestrator.runtime import Runtime
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.scaling.time_scale import TimeScale
from orchestrator.scaling_controller import ScalingController
from orchestrator.state import Store
from services import logs
from services.lifecycle import Lifecycle
from services.messaging import open_broker
from services.settings import Settings, SettingsError, load

log = logging.getLogger(__name__)

CLOCK_ORIGIN = "clock-origin"


class OrchestratorSettings(Settings):
    state_path: Path = Path("barista.db")
    time_scale: float = Field(default=1.0, gt=0)
    broker_url: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8500, ge=0, le=65535)
    reconcile_interval: float = Field(default=1.0, gt=0)
    instance_labels: str = Field(default="", pattern=r"^([^=,]+=[^,]*(,[^=,]+=[^,]*)*)?$")
    # The dashboard's sources (orchestrator/dashboard/config.py); unset ones show as "n/a".
    loadgen_url: str | None = None
    ledger_url: str | None = None
    ledger_namespace: str = Field(default="barista:ledger", min_length=1)
    orders_queue: str = Field(default="orders", min_length=1)
    dead_letter_queue: str = Field(default="orders-dlq", min_length=1)
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    visibility_timeout: float = Field(default=30.0, ge=0, le=43200)
    broker_service: str | None = None
    compose_project: str | None = None
    instance_metrics_port: int = Field(default=8080, ge=1, le=65535)

    def labels(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.instance_labels.split(",") if item)
        return {key.strip(): value.strip() for key, value in pairs}


def control_plane_clock(store: Store, time_scale: float) -> ScaledClock:
    """The scaled clock anchored where this store's first orchestrator started it."""
    origin = float(store.setting(CLOCK_ORIGIN, repr(ScaledClock(0.0).wall())))
    return ScaledClock(origin, TimeScale(time_scale))


class ControlLoop:
    """The controllers of one store, run pass after pass on the thread that calls ``run``.

    It opens its own connection to the store there: SQLite connections belong to one thread,
    and the API's threads open theirs.
    """

    def __init__(
        self,
        store_path: Path,
        runtime: Runtime,
        backlog: Callable[[str], int] | None = None,
    ) -> None:
        self.store_path = store_path
        self.runtime = runtime
        self.backlog = backlog
        self.passes = 0

    def run(self, stopping: threading.Event, interval: float) -> None:
        with Store(self.store_path) as store:
            sampler = MetricsSampler(store, self.runtime, self.backlog)
            scaling = ScalingController(store, self.runtime, sampler)
            auto_scaling = AutoScalingController(store, self.runtime)
            try:
                while not stopping.is_set():
                    try:
                        scaling.evaluate_once()
                        auto_scaling.reconcile_once()
                        self.passes += 1
                    except Exception:
                        # One bad pass (Docker busy, broker restarting) must not stop the
                        # control plane; the next pass starts again from the store and Docker.
                        log.exception("control pass failed; retrying")
                    stopping.wait(interval)
            finally:
                sampler.close()


def _backlog_reader(broker: Broker | None) -> Callable[[str], int] | None:
    if broker is None:
        return None
    return lambda queue: broker.backlog(queue).total


def main(environ: Mapping[str, str]) -> int:
    logs.configure("orchestrator")
    try:
        settings = load(OrchestratorSettings, environ)
    except SettingsError as error:
        log.error(str(error))
        return 2
    lifecycle = Lifecycle()
    lifecycle.install_signal_handlers()
    with Store(settings.state_path) as store:
        clock = control_plane_clock(store, settings.time_scale)
    runtime = DockerRuntime(labels=settings.labels(), clock=clock)
    broker = open_broker(settings.broker_url, timeout=10.0) if settings.broker_url else None
    context = ApiContext(settings.state_path, runtime, dict(environ))
    app = create_app(context)
    app.router.routes.extend(dashboard.routes(context, settings))
    api = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
        )
    )
    api_thread = threading.Thread(target=api.run, name="api", daemon=True)
    api_thread.start()
    log.info(
        "orchestrator started",
        extra={
            "api": f"{settings.api_host}:{settings.api_port}",
            "time_scale": settings.time_scale,
        },
    )
    try:
        ControlLoop(settings.state_path, runtime, _backlog_reader(broker)).run(
            lifecycle.stopping, settings.reconcile_interval
        )
    finally:
        api.should_exit = True
        api_thread.join(timeout=5)
        if broker is not None:
            broker.close()
    return 0
