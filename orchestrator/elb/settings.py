"""Where the orchestrator finds the HAProxy it programs, from BARISTA_* variables.

- ``BARISTA_HAPROXY_RUNTIME_API``: host:port of the runtime API (default 127.0.0.1:9999);
- ``BARISTA_HAPROXY_MASTER_CLI_PORT``: the master CLI's port on the same host, for reloads
  (default 9998);
- ``BARISTA_ELB_CONFIG_DIR``: the host directory mounted in HAProxy at ``/barista/elb``
  (default ``elb`` under the current directory);
- ``BARISTA_TIME_SCALE``: how much faster than AWS's pace durations run (default 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.elb.controller import ElbController, LaunchHolds
from orchestrator.elb.haproxy_runtime import HaproxyRuntimeApi
from orchestrator.runtime import Runtime
from orchestrator.time_scale import TimeScale


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


@dataclass(frozen=True)
class ElbSettings:
    runtime_api: tuple[str, int] = ("127.0.0.1", 9999)
    master_cli_port: int = 9998
    config_dir: Path = Path("elb")
    time_scale: TimeScale = field(default_factory=TimeScale)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ElbSettings:
        return cls(
            runtime_api=_host_port(environ.get("BARISTA_HAPROXY_RUNTIME_API", "127.0.0.1:9999")),
            master_cli_port=int(environ.get("BARISTA_HAPROXY_MASTER_CLI_PORT", "9998")),
            config_dir=Path(environ.get("BARISTA_ELB_CONFIG_DIR", "elb")),
            time_scale=TimeScale(float(environ.get("BARISTA_TIME_SCALE", "1"))),
        )

    def haproxy(self) -> HaproxyRuntimeApi:
        host, port = self.runtime_api
        return HaproxyRuntimeApi(host, port, master_port=self.master_cli_port)

    def controller(
        self,
        store_path: str | Path,
        runtime: Runtime,
        launch_holds: LaunchHolds | None = None,
    ) -> ElbController:
        """The ELB controller these settings describe; run ``controller.run(stopping)`` on a
        thread and hand ``controller.before_terminate`` and ``controller.elb_unhealthy`` to the
        Auto Scaling controller (and its ``LaunchHolds`` to this)."""
        return ElbController(
            store_path,
            runtime,
            self.haproxy(),
            self.config_dir,
            time_scale=self.time_scale,
            launch_holds=launch_holds,
        )
