"""Is there a Docker engine, and are the project's images built? Answered in words to act on."""

from __future__ import annotations

import os

import docker
import docker.errors

from tests.support.containers import stable_image

REQUIRED_IMAGES = ("kafka", "rabbitmq", "redis", "haproxy", "service")

NO_ENGINE = (
    "No Docker engine answers ({error}).\n"
    "The integration tests run real brokers in containers. Start an engine and try again:\n"
    "  - on a Debian host, as root: images/ensure-engine.sh (installs docker.io, starts dockerd)\n"
    "  - elsewhere: start Docker (systemctl start docker, or Docker Desktop);\n"
    "    `docker info` must work for this user."
)
NO_IMAGES = "The project's images are not built: {missing}. Run `make images` (or `make test`)."


def in_ci() -> bool:
    """CI=true (or 1/yes): missing Docker or tools fail the run instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def environment_problem() -> str | None:
    """None when the engine answers and every image exists; else what is wrong and what to do."""
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except docker.errors.DockerException as error:
        return NO_ENGINE.format(error=error)
    missing = []
    for key in REQUIRED_IMAGES:
        try:
            client.images.get(stable_image(key))
        except docker.errors.ImageNotFound:
            missing.append(stable_image(key))
    client.close()
    if missing:
        return NO_IMAGES.format(missing=", ".join(missing))
    return None
