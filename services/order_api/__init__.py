"""order-api: the counter. ``POST /orders`` validates an order, puts it on the orders queue,
announces it on the order-events topic and answers 202 with the order id.

A 2xx only ever follows the broker's confirm of the queue send; what happens when a later
step fails, and why the answer is still 202, is in ``services.order_api.app``.

Routes: ``POST /orders``, ``GET /orders/{order_id}`` (the ledger's state), ``GET /menu``,
``GET /healthz`` (liveness), ``GET /readyz`` (broker and ledger answer), ``GET /metrics``.
Configuration: ``OrderApiSettings`` from ``BARISTA_*`` variables. ``barista serve order-api``
runs ``main``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

import uvicorn

from broker_adapters import BrokerError
from services import logs
from services.ledger import Ledger
from services.lifecycle import Lifecycle
from services.messaging import declare_orders, open_broker
from services.order_api.app import MAX_BODY_BYTES, SERVICE, create_app
from services.order_api.commits import describe
from services.order_api.settings import OrderApiSettings
from services.settings import SettingsError, load

log = logging.getLogger(__name__)


def main(environ: Mapping[str, str]) -> int:
    """Serve until SIGTERM (uvicorn lets in-flight requests finish). Exit codes: 0 after a
    stop, 2 for bad configuration, 1 when the broker cannot be reached at start (serving
    without a declared queue is not possible; the orchestrator replaces the container)."""
    try:
        settings = load(OrderApiSettings, environ)
    except SettingsError as error:
        print(f"{SERVICE}: {error}", file=sys.stderr)
        return 2
    logs.configure(SERVICE)
    # uvicorn stops gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler it
    # found. Python's default would kill the process there (exit 143, broker left open); this
    # one lets main close the broker and return. It also catches a SIGTERM during startup.
    lifecycle = Lifecycle()
    lifecycle.install_signal_handlers()
    try:
        broker = open_broker(settings.broker_url, settings.broker_timeout)
    except BrokerError as error:
        log.error("cannot open the broker", extra={"detail": describe(error)})
        return 1
    try:
        declare_orders(
            broker,
            settings.orders_queue,
            settings.dead_letter_queue,
            settings.max_receive_count,
            settings.visibility_timeout,
        )
        ledger = Ledger.from_url(settings.ledger_url, settings.ledger_namespace)
        if lifecycle.stopping.is_set():
            return 0
        log.info(
            "serving",
            extra={
                "port": settings.port,
                "queue": settings.orders_queue,
                "topic": settings.events_topic,
            },
        )
        uvicorn.run(
            create_app(broker, ledger, settings),
            host="0.0.0.0",  # noqa: S104 - a container listens on all its interfaces
            port=settings.port,
            log_config=None,
            access_log=False,
            # uvloop and httptools (dependencies of the project): about twice the requests/s
            # of asyncio's loop and h11 for the same app (BENCHMARKS.md, bench-services).
            loop="uvloop",
            http="httptools",
        )
        log.info("stopped")
    except BrokerError as error:
        log.error("cannot declare the orders queue", extra={"detail": describe(error)})
        return 1
    finally:
        broker.close()
    return 0


__all__ = ["MAX_BODY_BYTES", "OrderApiSettings", "create_app", "main"]
