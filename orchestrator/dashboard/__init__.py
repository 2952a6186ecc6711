"""The live dashboard, served by the orchestrator beside its API.

``routes(context, settings)`` gives:

- ``GET /``: the page (``static/``: plain HTML, CSS and JavaScript with hand-drawn SVG charts,
  nothing fetched from the internet, so the demo runs offline);
- ``GET /dashboard/state``: the snapshot the page polls every second (``snapshot.py``);
- ``GET /dashboard/clock``: the control plane's clock (``now`` in AWS seconds, ``wall``,
  ``time_scale``), public like the page, which shows the same time: the load generator reads
  it to start its day at the hour this clock shows (``services/loadgen/clock.py``);
- ``GET /dashboard/cost``: the cost panel's figures (``cost.py``), behind a session too;
- ``POST /dashboard/controls/{name}``: the buttons (``controls.py``); a refusal answers 4xx (or
  502/503 when what it drives does not answer) with ``{"error": reason}``;
- ``POST``/``GET``/``DELETE /dashboard/session`` and ``GET /dashboard/login?token=``: log in
  with an access key pair or a login link (``session.py``; ``dashboard_login_url`` makes
  the link ``make up`` prints), see who is logged in, log out.

The page and its static files are public; the state needs a session, and every control and
the logout a session, a same-origin request and a JSON body (``access.py`` says why).

Settings, from ``BARISTA_*`` variables through the orchestrator's settings: ``LOADGEN_URL``,
``LEDGER_URL``, ``LEDGER_NAMESPACE``, ``BROKER_URL``, ``ORDERS_QUEUE``, ``DEAD_LETTER_QUEUE``,
``MAX_RECEIVE_COUNT``, ``VISIBILITY_TIMEOUT``, ``BROKER_SERVICE``, ``COMPOSE_PROJECT``,
``INSTANCE_METRICS_PORT``, ``SUBSCRIBERS`` (see ``config.py``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from orchestrator.api import ApiContext
from orchestrator.dashboard.access import (
    Refusal,
    check_change,
    check_session,
    json_object,
    session_routes,
)
from orchestrator.dashboard.config import DashboardSettings
from orchestrator.dashboard.controls import ControlError, controls
from orchestrator.dashboard.cost import cost_routes
from orchestrator.dashboard.session import dashboard_login_url as dashboard_login_url
from orchestrator.dashboard.snapshot import Dashboard

STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store"}


def routes(context: ApiContext, settings: DashboardSettings) -> list[BaseRoute]:
    return dashboard_routes(Dashboard(context, settings))


def dashboard_routes(dashboard: Dashboard) -> list[BaseRoute]:
    handlers = controls(dashboard)
    credentials = dashboard.context.credentials

    async def page(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=NO_STORE)

    async def clock(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "now": dashboard.context.runtime.now(),
                "wall": dashboard.wall(),
                "time_scale": dashboard.settings.time_scale,
            },
            headers=NO_STORE,
        )

    async def state(request: Request) -> JSONResponse:
        try:
            check_session(request, credentials, dashboard.wall())
        except Refusal as refusal:
            return refusal.response()
        return JSONResponse(await run_in_threadpool(dashboard.snapshot), headers=NO_STORE)

    async def control(request: Request) -> JSONResponse:
        try:
            check_change(request, credentials, dashboard.wall())
            body = await json_object(request)
        except Refusal as refusal:
            return refusal.response()
        name = request.path_params["name"]
        handler = handlers.get(name)
        if handler is None:
            known = ", ".join(sorted(handlers))
            return JSONResponse({"error": f"no control {name!r}; known: {known}"}, 404)
        try:
            result = await run_in_threadpool(handler, body)
        except ControlError as error:
            answer = {"error": error.reason}
            if error.detail is not None:
                answer["detail"] = error.detail
            return JSONResponse(answer, error.status)
        dashboard.invalidate()
        return JSONResponse(result)

    return [
        Route("/", page, methods=["GET"]),
        Route("/dashboard/state", state, methods=["GET"]),
        Route("/dashboard/clock", clock, methods=["GET"]),
        Route("/dashboard/controls/{name}", control, methods=["POST"]),
        *session_routes(credentials, dashboard.wall),
        *cost_routes(dashboard.context, dashboard.wall),
        Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
    ]
