"""The health service: the smallest thing the service image can run and be asked about.

Every later service (order API, barista, subscribers) answers ``GET /healthz`` the same way.
The payload names the messaging client libraries the image carries, so a test that starts the
image learns in one request that the wheelhouse installed and that librdkafka's native
library loads inside the container, not only on the host.
"""

from __future__ import annotations

import importlib
import platform
import threading
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.metadata import version
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_PORT = 8080


# Broker URL scheme -> the client distribution that serves it (broker_adapters.BACKENDS).
CLIENT_OF_SCHEME = {"kafka": "confluent-kafka", "amqp": "pika", "redis": "redis"}
_MODULE_OF_CLIENT = {"confluent-kafka": "confluent_kafka", "pika": "pika", "redis": "redis"}


def client_versions(clients: Iterable[str] = tuple(_MODULE_OF_CLIENT)) -> dict[str, str]:
    """Versions of the broker clients named (distribution names), read by importing them (a
    broken wheel fails here); librdkafka's too when confluent-kafka is one of them."""
    versions = {}
    for name in clients:
        module = importlib.import_module(_MODULE_OF_CLIENT[name])  # importing is the check
        versions[name] = version(name)
        if name == "confluent-kafka":
            librdkafka_version, _ = module.libversion()
            versions["librdkafka"] = str(librdkafka_version)
    return versions


def health_payload(clients: Iterable[str] = tuple(_MODULE_OF_CLIENT)) -> dict[str, Any]:
    """What ``/healthz`` says: a role passes the clients it uses (order-api: its backend's),
    so answering never imports a client the role would not load otherwise."""
    return {
        "status": "ok",
        "barista": version("barista"),
        "python": platform.python_version(),
        "clients": client_versions(clients),
    }


@cache
def _every_client() -> dict[str, Any]:
    # Read once: every probe of the health service used to read the metadata of four
    # distributions again (the first one also imports the three clients).
    return health_payload()


async def _healthz(_request: Request) -> JSONResponse:
    return JSONResponse(_every_client())


def create_app() -> Starlette:
    return Starlette(routes=[Route("/healthz", _healthz)])


def main(environ: Mapping[str, str]) -> int:
    """Run until SIGTERM; uvicorn turns SIGTERM into a graceful shutdown."""
    port = int(environ.get("BARISTA_PORT", DEFAULT_PORT))
    # The clients load while uvicorn starts, so the first probe finds the answer ready.
    threading.Thread(target=_every_client, name="health-payload", daemon=True).start()
    uvicorn.run(create_app(), host="0.0.0.0", port=port, log_level="info", access_log=False)  # noqa: S104
    return 0
