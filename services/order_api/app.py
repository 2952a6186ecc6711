"""The counter's routes, over an injected broker and ledger (``create_app``).

The one promise: a 2xx means the broker confirmed the order on the orders queue *and* the
ledger holds it. Everything before that may refuse: 4xx for the customer's mistakes (nothing
is sent), 503 with ``Retry-After`` when the ledger or the broker raises or does not answer in
time (``LEDGER_TIMEOUT``, ``broker_timeout``).

The steps are: record the order in the ledger as accepted, send (the confirm), publish
``order-placed``, answer 202. Concurrent orders take them together, one ledger write, one
confirmed send and one publish per batch (``services.order_api.commits``: group commit); the
promise holds per order. Why the ledger comes first:

- The ledger exists to prove that nothing confirmed was lost, so it must hold every order a
  202 was given for. Written after the confirm, a failed write could only be logged (a 5xx
  after the confirm would make the customer order again: two coffees for one), and the order
  would be missing from the proof. Written first, a failed write refuses the order before
  anything is on the queue.
- A send that is not confirmed withdraws the record (``Ledger.withdrawn``), which removes it
  only while it still says "accepted": a send abandoned at its deadline and confirmed later
  is brewed all the same, and the barista's ``brewed`` brings the record back.
- A barista cannot see the order before the ledger holds it, so its duplicate check always
  finds the record.

Nothing after the confirm may refuse: if the publish fails the answer is still 202, the
failure is written on the order's log line and counted in
``barista_order_follow_up_failures_total{step="event"}``. The event is a notification:
subscribers still learn of the order from ``order-ready``, which the barista publishes.

A 503 means "not confirmed", not "not enqueued": a send still running at the deadline may be
confirmed afterwards (see ``calls``), so a client's plain retry can make a duplicate order.
A retry that carries the first request's ``Idempotency-Key`` header is the same order: its id
is derived from the key, it is sent again only while the ledger does not say it is brewed or
dead-lettered (then the answer is the same 202 at once), and a second delivery of one order id
is acked by the barista's duplicate check without a second cup.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio
from prometheus_client import make_asgi_app
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from broker_adapters import Broker
from services.health import CLIENT_OF_SCHEME, health_payload
from services.ledger import OrderState
from services.metrics import (
    ORDER_API_SECONDS,
    ORDER_FOLLOW_UP_FAILURES,
    ORDERS_ACCEPTED,
    ORDERS_REJECTED,
)
from services.order_api.calls import BlockingCalls
from services.order_api.commits import OrderCommits, Refused, describe
from services.order_api.settings import OrderApiSettings
from services.orders import (
    MAX_ITEMS,
    MAX_QUANTITY,
    MENU,
    Order,
    OrderRequest,
    Size,
)

log = logging.getLogger("services.order_api")

SERVICE = "order-api"
MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
# /readyz answers within this even when the broker hangs (HAProxy checks every few seconds).
READY_TIMEOUT = 2.0
# The ledger is one Redis round trip; waiting longer only delays a 202 that is already due.
LEDGER_TIMEOUT = 2.0
# A broker restart takes seconds; asking clients to come back sooner only adds load.
RETRY_AFTER_SECONDS = 2
# Broker and ledger calls still running, abandoned ones included (see calls.py). Beyond
# anyio's 40 worker threads, so a healthy burst never meets it; an outage soon does.
MAX_RUNNING_CALLS = 100
# The field name for an error about the whole body (``[]`` instead of an object).
ROOT_FIELD = "$"
# A client's retry key (the IETF draft "The Idempotency-Key HTTP Header Field"): 1-255
# visible ASCII characters.
IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class OrderLedger(Protocol):
    """The part of ``services.ledger.Ledger`` the counter uses (tests pass a fake)."""

    def accepted_many(self, order_ids: Sequence[str]) -> None: ...

    def withdrawn_many(self, order_ids: Sequence[str]) -> list[bool]: ...

    def state(self, order_id: str) -> OrderState | None: ...

    def ping(self) -> bool: ...


def field_errors(errors: list[ErrorDetails]) -> list[dict[str, str]]:
    """One entry per field, dotted path (``items.0.quantity``), its reasons joined."""
    reasons: dict[str, list[str]] = {}
    for error in errors:
        path = ".".join(str(part) for part in error["loc"]) or ROOT_FIELD
        reasons.setdefault(path, []).append(error["msg"])
    return [{"field": path, "reason": "; ".join(found)} for path, found in reasons.items()]


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than ``limit`` (stops reading as soon as it is)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def reject(
    status: int,
    reason: str,
    body: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    error: BaseException | None = None,
    **context: Any,
) -> Response:
    """Answer a refused order: count it, log one line for it (with ``error``'s traceback)."""
    ORDERS_REJECTED.labels(reason=reason).inc()
    fields = {key: value for key, value in context.items() if value is not None}
    # A customer's mistake is routine; a refusal because of us (5xx) is worth a warning.
    log.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "order rejected",
        extra={"outcome": "rejected", "status": status, "reason": reason, **fields},
        exc_info=error,
    )
    return JSONResponse(dict(body), status_code=status, headers=headers)


class OrderCounter:
    """The routes. The broker's orders queue must already be declared (``main`` does it)."""

    def __init__(
        self,
        broker: Broker,
        ledger: OrderLedger,
        settings: OrderApiSettings,
        calls: BlockingCalls,
    ) -> None:
        self.broker = broker
        self.ledger = ledger
        self.settings = settings
        self.calls = calls
        self.commits = OrderCommits(
            broker,
            ledger,
            orders_queue=settings.orders_queue,
            events_topic=settings.events_topic,
            calls=calls,
            broker_timeout=settings.broker_timeout,
            ledger_timeout=LEDGER_TIMEOUT,
        )
        scheme = urlsplit(settings.broker_url).scheme
        # Only the client this order-api uses: the others are never imported by it.
        clients = [CLIENT_OF_SCHEME[scheme]] if scheme in CLIENT_OF_SCHEME else []
        self.health = health_payload(clients) | {"service": SERVICE}

    # POST /orders

    async def place_order(self, request: Request) -> Response:
        started = time.perf_counter()
        response = await self._place(request)
        elapsed = time.perf_counter() - started
        ORDER_API_SECONDS.labels(status=str(response.status_code)).observe(elapsed)
        return response

    async def _place(self, request: Request) -> Response:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != JSON:
            return reject(
                415,
                "unsupported-media-type",
                {"error": "unsupported media type", "detail": f"send Content-Type: {JSON}"},
                content_type=media_type or None,
            )
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return reject(
                413,
                "too-large",
                {"error": "order too large", "detail": f"the limit is {MAX_BODY_BYTES} bytes"},
            )
        try:
            order_request = OrderRequest.model_validate_json(body)
        except ValidationError as error:
            errors = error.errors(include_url=False, include_input=False)
            if any(item["type"] == "json_invalid" for item in errors):
                detail = errors[0]["msg"]
                return reject(400, "malformed", {"error": "malformed JSON", "detail": detail})
            fields = field_errors(errors)
            return reject(
                422, "invalid", {"error": "invalid order", "fields": fields}, fields=fields
            )
        return await self._place_valid(order_request, request.headers.get(IDEMPOTENCY_HEADER))

    async def _place_valid(self, order_request: OrderRequest, key: str | None) -> Response:
        """A valid order, retried under ``key`` (Idempotency-Key) or new."""
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            return reject(
                400,
                "bad-idempotency-key",
                {
                    "error": "invalid Idempotency-Key",
                    "detail": "1 to 255 visible ASCII characters",
                },
            )
        order = Order.accept(order_request, key)
        if key is not None and await self._settled(order) is not None:
            # A retry of an order already brewed or dead-lettered: the same answer, no resend.
            return self._accepted(order, event="retry")
        return await self._accept(order)

    async def _settled(self, order: Order) -> OrderState | None:
        """A final state of a retried order (brewed, dead-lettered), else None (unknown, or
        accepted: a send of it may not have been confirmed, so it is sent again; the barista's
        duplicate check keeps a second delivery from a second cup)."""
        try:
            state = await self.calls.run(LEDGER_TIMEOUT, partial(self.ledger.state, order.order_id))
        except Exception:
            return None  # the ledger is checked again, and answered for, by _accept
        return state if state in (OrderState.BREWED, OrderState.DEAD_LETTERED) else None

    async def _accept(self, order: Order) -> Response:
        try:
            event = await self.commits.commit(order)
        except Refused as refused:
            if refused.step == "internal":
                return reject(
                    500,
                    "error",
                    {"error": "internal error"},
                    error=refused.error,
                    order_id=order.order_id,
                )
            return reject(
                503,
                "unavailable",
                {"error": f"{refused.step} unavailable"},
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                order_id=order.order_id,
                detail=describe(refused.error, refused.seconds),
            )
        if event != "ok":
            ORDER_FOLLOW_UP_FAILURES.labels(step="event").inc()
        return self._accepted(order, event)

    def _accepted(self, order: Order, event: str) -> Response:
        ORDERS_ACCEPTED.inc()
        log.log(
            logging.WARNING if event not in ("ok", "retry") else logging.INFO,
            "order accepted",
            extra={
                "outcome": "accepted",
                "status": 202,
                "order_id": order.order_id,
                "customer_id": order.customer.id,
                "cups": order.cups(),
                "ledger": "ok",
                "event": event,
            },
        )
        return JSONResponse(
            {"order_id": order.order_id, "status": "accepted"},
            status_code=202,
            headers={"Location": f"/orders/{order.order_id}"},
        )

    # GET /orders/{order_id}

    async def order_state(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        try:
            state = await self.calls.run(LEDGER_TIMEOUT, partial(self.ledger.state, order_id))
        except Exception as error:
            detail = describe(error, LEDGER_TIMEOUT)
            log.warning("ledger unavailable", extra={"order_id": order_id, "detail": detail})
            return JSONResponse(
                {"error": "ledger unavailable"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        if state is None:
            return JSONResponse({"error": "unknown order", "order_id": order_id}, status_code=404)
        return JSONResponse({"order_id": order_id, "state": state.value})

    # GET /menu, /healthz, /readyz

    async def menu(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "items": list(MENU),
                "sizes": [size.value for size in Size],
                "max_items": MAX_ITEMS,
                "max_quantity": MAX_QUANTITY,
            }
        )

    async def healthz(self, _request: Request) -> Response:
        """Liveness: the process answers. Blind to the broker on purpose: a restart of this
        container would not bring the broker back (readiness takes it out of rotation)."""
        return JSONResponse(self.health)

    async def readyz(self, _request: Request) -> Response:
        """Ready when the broker and the ledger both answer, each within READY_TIMEOUT.

        The ledger counts although a failed ledger write does not fail an order: readiness is
        the coarse gate that keeps traffic away from a replica that cannot do the whole job.
        """
        seconds = min(READY_TIMEOUT, self.settings.broker_timeout)
        checks: dict[str, str] = {}

        async def check(name: str, call: Callable[[], object]) -> None:
            try:
                await self.calls.run(seconds, call)
            except Exception as error:
                checks[name] = describe(error, seconds)
            else:
                checks[name] = "ok"

        backlog = partial(self.broker.backlog, self.settings.orders_queue)
        async with anyio.create_task_group() as group:
            group.start_soon(check, "broker", backlog)
            group.start_soon(check, "ledger", self._ping_ledger)
        failed = sorted(name for name, outcome in checks.items() if outcome != "ok")
        return JSONResponse(
            {"ready": not failed, "failed": failed, "checks": dict(sorted(checks.items()))},
            status_code=503 if failed else 200,
        )

    def _ping_ledger(self) -> None:
        if not self.ledger.ping():
            raise ConnectionError("the ledger did not answer PONG")


def create_app(
    broker: Broker,
    ledger: OrderLedger,
    settings: OrderApiSettings,
    *,
    max_running_calls: int = MAX_RUNNING_CALLS,
) -> Starlette:
    """The ASGI app over a broker whose orders queue is declared and a ledger."""
    counter = OrderCounter(broker, ledger, settings, BlockingCalls(max_running_calls))
    return Starlette(
        routes=[
            Route("/orders", counter.place_order, methods=["POST"]),
            Route("/orders/{order_id}", counter.order_state, methods=["GET"]),
            Route("/menu", counter.menu, methods=["GET"]),
            Route("/healthz", counter.healthz, methods=["GET"]),
            Route("/readyz", counter.readyz, methods=["GET"]),
            # Served at /metrics/ (a GET /metrics is redirected there; Prometheus follows).
            Mount("/metrics", make_asgi_app()),
        ]
    )
