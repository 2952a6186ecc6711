"""The health service: the smallest thing the service image can run and be asked about.

Every later service (order API, barista, subscribers) answers ``GET /healthz`` the same way.
The payload names the messaging client libraries the image carries, so a test that starts the
image learns in one request that the wheelhouse installed and that librdkafka's native
library loads inside the container, not only on the host.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_PORT = 8080


def client_versions() -> dict[str, str]:
    """Versions of the broker clients, read by importing them (a broken wheel fails here)."""
    import confluent_kafka  # noqa: PLC0415 - importing is the check
    import pika  # noqa: F401, PLC0415
    import redis  # noqa: F401, PLC0415

    librdkafka_version, _ = confluent_kafka.libversion()
    versions = {name: version(name) for name in ("confluent-kafka", "pika", "redis")}
    return versions | {"librdkafka": str(librdkafka_version)}


def health_payload() -> dict[str, Any]:
    return {
        "status": "ok",
        "barista": version("barista"),
        "python": platform.python_version(),
        "clients": client_versions(),
    }


async def _healthz(_request: Request) -> JSONResponse:
    return JSONResponse(health_payload())


def create_app() -> Starlette:
    return Starlette(routes=[Route("/healthz", _healthz)])


def main(environ: Mapping[str, str]) -> int:
    """Run until SIGTERM; uvicorn turns SIGTERM into a graceful shutdown."""
    port = int(environ.get("BARISTA_PORT", DEFAULT_PORT))
    uvicorn.run(create_app(), host="0.0.0.0", port=port, log_level="info", access_log=False)  # noqa: S104
    return 0
