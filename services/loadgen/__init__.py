"""``barista serve loadgen``: customers arriving at the counter, at a rate pattern.

Posts random valid orders to ``{BARISTA_TARGET_URL}/orders`` (through the load balancer) at a
pattern's rate (``patterns.py``), and counts what came back in
``barista_loadgen_requests_total{result}`` and a JSON "load report" line every
``BARISTA_REPORT_INTERVAL`` seconds. The side door adds ``GET /pattern`` (the pattern and the
rate it asks for now) and ``POST /pattern`` with any of the pattern fields as JSON, e.g.
``{"pattern": "spike", "rate": 5}``: unnamed fields keep their values and the pattern's clock
restarts at 0. A body over :data:`MAX_PATTERN_BYTES` is refused with 413 unread.

Environment (``BARISTA_`` + the field name in capitals): ``TARGET_URL`` (required),
``PATTERN`` (steady|spike|ramp|daily), ``RATE``, ``PEAK_RATE``, ``PERIOD``, ``SPIKE_AT``,
``SPIKE_DURATION``, ``RAMP_TO``, ``DAY_OFFSET``, ``DURATION`` (0 = until stopped),
``CONCURRENCY``, ``REQUEST_TIMEOUT``, ``REPORT_INTERVAL``, ``SEED``, ``PORT``.

One clock (``clock.py``): with ``TIME_SCALE`` and no ``PERIOD``, the daily pattern's day is
``86400 / TIME_SCALE`` seconds, a day of the orchestrator's clock; with ``CLOCK_URL`` (the
orchestrator's ``/dashboard/clock``) it starts at the hour that clock shows, so its 08:00 rush
is the dashboard's 08:00. An explicit ``PERIOD`` still sets the day's length.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping

from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from services import logs
from services.lifecycle import Lifecycle, serve_side_door
from services.loadgen.clock import day_length, read_clock
from services.loadgen.patterns import Pattern
from services.loadgen.poster import OrderPoster
from services.loadgen.runner import LoadGenerator
from services.settings import Settings, SettingsError, load

log = logging.getLogger(__name__)

# A pattern is a handful of fields; anything near this is not one.
MAX_PATTERN_BYTES = 16 * 1024


async def _capped_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is longer than ``limit`` (declared or sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


class LoadgenSettings(Settings, Pattern):
    """The pattern's fields (``Pattern``) plus how to send."""

    target_url: str = Field(pattern=r"^https?://[^/:]+(:\d+)?(/.*)?$")
    duration: float = Field(default=0.0, ge=0)
    concurrency: int = Field(default=4, ge=1, le=256)
    request_timeout: float = Field(default=5.0, gt=0)
    report_interval: float = Field(default=10.0, gt=0)
    seed: int | None = None
    port: int = Field(default=8080, ge=1, le=65535)
    time_scale: float | None = Field(default=None, gt=0)
    clock_url: str | None = Field(default=None, pattern=r"^https?://")

    def load_pattern(self) -> Pattern:
        """The pattern; its period a day of the scaled clock unless ``PERIOD`` was given."""
        fields = self.model_dump(include=set(Pattern.model_fields))
        if "period" not in self.model_fields_set and self.time_scale is not None:
            fields["period"] = day_length(self.time_scale)
        return Pattern.model_validate(fields)


def pattern_routes(generator: LoadGenerator) -> list[BaseRoute]:
    """``GET /pattern`` and ``POST /pattern`` (a partial update, validated as a whole)."""

    async def show(_request: Request) -> JSONResponse:
        return JSONResponse(generator.status())

    async def change(request: Request) -> JSONResponse:
        raw = await _capped_body(request, MAX_PATTERN_BYTES)
        if raw is None:
            return JSONResponse(
                {"error": f"body too large: the limit is {MAX_PATTERN_BYTES} bytes"},
                status_code=413,
            )
        try:
            update = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        if not isinstance(update, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        try:
            pattern = Pattern.model_validate(generator.pattern.model_dump() | update)
        except ValidationError as error:
            problems = error.errors(include_url=False, include_context=False)
            return JSONResponse({"error": "invalid pattern", "problems": problems}, 422)
        generator.set_pattern(pattern)
        return JSONResponse(generator.status())

    return [Route("/pattern", show, methods=["GET"]), Route("/pattern", change, methods=["POST"])]


def accepted_routes(poster: OrderPoster) -> list[BaseRoute]:
    """``GET /accepted``: the ids of the orders the API accepted, so a test can check by id,
    not by count, that each one was brewed."""

    async def accepted(_request: Request) -> JSONResponse:
        return JSONResponse({"order_ids": poster.accepted_orders()})

    return [Route("/accepted", accepted, methods=["GET"])]


def main(environ: Mapping[str, str]) -> int:
    logs.configure("loadgen")
    try:
        settings = load(LoadgenSettings, environ)
    except SettingsError as error:
        sys.stderr.write(f"barista serve loadgen: {error}\n")
        return 2
    lifecycle = Lifecycle()
    lifecycle.install_signal_handlers()
    poster = OrderPoster(settings.target_url, settings.request_timeout)
    reading = read_clock(settings.clock_url) if settings.clock_url else None
    generator = LoadGenerator(
        settings.load_pattern(),
        poster.post,
        concurrency=settings.concurrency,
        report_interval=settings.report_interval,
        seed=settings.seed,
        day_clock=reading.now if reading is not None else None,
    )
    side_door = serve_side_door(
        settings.port, lambda: True, [*pattern_routes(generator), *accepted_routes(poster)]
    )
    log.info(
        "offering orders",
        extra={"target": poster.url, "pattern": generator.status(), "duration": settings.duration},
    )
    try:
        tally = generator.run(lifecycle.stopping, settings.duration)
    finally:
        side_door.should_exit = True
        poster.close()
    log.info("load generator stopped", extra={"totals": tally.as_json()})
    return 0
