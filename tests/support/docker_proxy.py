"""The Docker socket proxy (images/docker-proxy) as compose runs it, published on the host's
loopback for a test: its HAProxy, its config, the engine's socket mounted in it alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import docker

from tests.support.containers import IMAGES_DIR, SESSION_ID, SESSION_LABEL, stable_image

START_TIMEOUT = 30.0


@contextmanager
def docker_proxy(environment: dict[str, str] | None = None) -> Iterator[str]:
    """Yields the proxy's ``tcp://127.0.0.1:PORT`` base URL; removes the proxy afterwards.
    ``environment`` is the proxy's (``BARISTA_SWARM`` lets the Swarm calls through)."""
    engine = docker.from_env()
    container = engine.containers.run(
        stable_image("haproxy"),
        entrypoint=["haproxy", "-db", "-f", "/barista/docker-proxy/haproxy.cfg"],
        user="0",  # as in docker-compose.yml: the socket is root's
        environment=environment or {},
        volumes={
            "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"},
            str(IMAGES_DIR / "docker-proxy"): {"bind": "/barista/docker-proxy", "mode": "ro"},
        },
        ports={"2375/tcp": ("127.0.0.1", None)},
        labels={SESSION_LABEL: SESSION_ID, "barista.test-image": "docker-proxy"},
        detach=True,
    )
    try:
        base_url = _published(engine, container.id)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                # The client asks the engine's version through the proxy as it is made, so
                # making one is the first request: it fails until HAProxy listens.
                probe = docker.DockerClient(base_url=base_url, timeout=5)
                try:
                    probe.ping()
                finally:
                    probe.close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Docker proxy did not answer: {container.logs(tail=20)!r}"
                    ) from None
                time.sleep(0.2)
        yield base_url
    finally:
        container.remove(force=True)
        engine.close()


def _published(engine: docker.DockerClient, container_id: str) -> str:
    container = engine.containers.get(container_id)
    deadline = time.monotonic() + START_TIMEOUT
    while not container.ports.get("2375/tcp"):
        if time.monotonic() > deadline:
            raise RuntimeError("the Docker proxy's port was never published")
        time.sleep(0.1)
        container.reload()
    return f"tcp://127.0.0.1:{container.ports['2375/tcp'][0]['HostPort']}"
