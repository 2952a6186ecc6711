"""What every worker process shares: a stop signal and a small HTTP side door.

SIGTERM (``docker stop``, ECS stopTimeout) sets ``stopping``; a worker checks it between
messages, finishes or hands back what it holds, and returns, so the process exits 0 well
inside the stop timeout. The side door serves ``/healthz``, ``/readyz`` and ``/metrics`` on a
thread, so health checks answer while the main thread works.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

import uvicorn
from prometheus_client import make_asgi_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(self) -> None:
        self.stopping = threading.Event()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a graceful stop; only the main thread may install them."""

        def ask_to_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("stop requested", extra={"signal": signal.Signals(signum).name})
            self.stopping.set()

        signal.signal(signal.SIGTERM, ask_to_stop)
        signal.signal(signal.SIGINT, ask_to_stop)


def side_door_app(ready: Callable[[], bool], extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The side door; ``extra_routes`` let a service show its own state (a board, points)."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> JSONResponse:
        ok = ready()
        return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *extra_routes,
            Mount("/metrics", make_asgi_app()),
        ]
    )


def serve_side_door(
    port: int, ready: Callable[[], bool], extra_routes: Sequence[BaseRoute] = ()
) -> uvicorn.Server:
    """Serve the side door on a daemon thread; set ``should_exit`` on the result to stop it."""
    config = uvicorn.Config(
        side_door_app(ready, extra_routes),
        host="0.0.0.0",  # noqa: S104 - a container listens on all its interfaces
        port=port,
        log_config=None,
        access_log=False,
        # asyncio and h11, as before uvloop and httptools were installed for order-api (uvicorn's
        # "auto" picks them up): the load generator, whose side door runs here on a daemon
        # thread, once exited on SIGTERM with SIGSEGV (-11) under CI load since they came in.
        # A side door needs no speed; its loop dies with the process.
        loop="asyncio",
        http="h11",
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="side-door", daemon=True).start()
    return server
