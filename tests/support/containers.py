"""Testcontainers for Barista's real parts, started exactly as docker-compose.yml starts them.

Each container runs the project's stable image (``barista/<key>:latest``, see
images/catalog.toml) with the project's config folder mounted read-only at
``/barista/<key>`` and its ``start.sh`` as the entrypoint, so the tests exercise the same
files and commands as ``make up``, whichever image source is in use. Ports are published on
127.0.0.1 only. Readiness is decided by a real client (see ``ClientProbe``), never a sleep.
"""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget

REPO_DIR = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO_DIR / "images"
LOOPBACK = "127.0.0.1"
SESSION_LABEL = "barista.test-session"
# One id per pytest process: `docker ps --filter label=barista.test-session=<id>` finds
# whatever a crashed run left behind (Ryuk, testcontainers' reaper, needs a registry).
SESSION_ID = uuid.uuid4().hex[:12]


def stable_image(key: str) -> str:
    """``barista/<key>:latest``, or the image ``BARISTA_IMAGE_<KEY>`` names (to test another
    build of one image, say a new broker version, beside the one `make images` points at)."""
    return os.environ.get(f"BARISTA_IMAGE_{key.upper()}", f"barista/{key}:latest")


@dataclass(frozen=True)
class Credentials:
    """Per-session credentials: no test relies on a well-known default user."""

    user: str
    password: str

    @classmethod
    def generate(cls, prefix: str) -> Credentials:
        return cls(user=f"{prefix}-{secrets.token_hex(3)}", password=secrets.token_urlsafe(18))


class ClientProbe(WaitStrategy):
    """Ready when ``probe()`` succeeds: a real client connecting and doing one round trip.

    Exceptions while the broker is still starting are expected and retried until the
    startup timeout; the last one is reported with the container's logs if it never succeeds.
    """

    def __init__(self, probe: Callable[[], object], timeout_seconds: float = 120) -> None:
        super().__init__()
        self._probe = probe
        self.with_startup_timeout(int(timeout_seconds)).with_poll_interval(0.25)
        self.last_error: BaseException | None = None

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        def attempt() -> bool:
            container.reload()
            if container.status in ("exited", "dead"):
                raise StopIteration
            try:
                self._probe()
            except Exception as error:
                self.last_error = error
                return False
            return True

        if not self._poll(attempt):
            stdout, stderr = container.get_logs()
            raise TimeoutError(
                f"not ready (status {container.status}); last probe error: {self.last_error!r}\n"
                f"--- container output ---\n{stdout.decode(errors='replace')[-4000:]}"
                f"{stderr.decode(errors='replace')[-4000:]}",
            )


def free_loopback_port() -> int:
    """A port nothing listens on now, for the brokers that must know their host port."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class ProjectContainer(DockerContainer):  # type: ignore[misc]
    """A container of one of the project's images, labelled with this test session."""

    def __init__(self, key: str, **kwargs: Any) -> None:
        super().__init__(stable_image(key), **kwargs)
        self.key = key
        self._labels = {SESSION_LABEL: SESSION_ID, "barista.test-image": key}

    def publish(self, container_port: int, host_port: int | None = None) -> ProjectContainer:
        """Publish on 127.0.0.1 only; a random host port unless one is given."""
        binding = (LOOPBACK, host_port) if host_port is not None else (LOOPBACK,)
        self.ports[f"{container_port}/tcp"] = binding
        return self

    def host_port(self, container_port: int) -> int:
        mapped = self.get_docker_client().port(self.get_container_id(), container_port)
        return int(mapped)

    def start(self) -> ProjectContainer:
        self._kwargs = {**self._kwargs, "labels": self._labels}
        super().start()
        return self


class InfraContainer(ProjectContainer):
    """A broker or HAProxy run the way docker-compose.yml runs it: mounted config + start.sh."""

    def __init__(self, key: str, user: str, network: Network | None = None) -> None:
        super().__init__(key)
        if network is not None:
            # On a test network the broker is reachable as its key: kafka, rabbitmq, redis.
            self.with_network(network).with_network_aliases(key)
        self.with_volume_mapping(str(IMAGES_DIR / key), f"/barista/{key}", "ro")
        self.with_kwargs(entrypoint=["sh", f"/barista/{key}/start.sh"], user=user)
