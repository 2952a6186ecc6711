"""The orchestrator's HTTP JSON API: ``POST /api/{service}/{Action}``, AWS's names throughout.

A request body is the action's parameters as AWS's API reference spells them (PascalCase, the
same document ``aws … --cli-input-json`` takes); a response is the action's result in AWS's
shape. A refused request answers 400 with ``{"Error": {"Code", "Message", "Type"}}``, the code
and message AWS would give, so a client branches on the code and a person reads the message.

Services are discovered: every public module in this package that defines ``SERVICE`` (the
path segment, ``"autoscaling"``) and ``actions(context)`` (Action name → handler) is mounted.
A new AWS service is a new module; services never edit each other's code.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orchestrator.api.credentials import Credentials
from orchestrator.errors import AwsError
from orchestrator.runtime import Runtime

Params = Mapping[str, Any]
Action = Callable[[Params], Mapping[str, Any]]


@dataclass(frozen=True)
class ApiContext:
    """What handlers may use. ``store_path`` rather than an open store: SQLite connections
    belong to one thread and Starlette runs sync handlers on a thread pool, so each handler
    opens its own (cheap with WAL)."""

    store_path: Path
    runtime: Runtime
    environ: Mapping[str, str] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)


def service_modules() -> list[str]:
    return sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    )


def error_response(error: AwsError, status_code: int = 400) -> JSONResponse:
    return JSONResponse(
        {
            "Error": {"Code": error.code, "Message": error.message, "Type": "Sender"},
            "RequestId": str(uuid.uuid4()),
        },
        status_code=status_code,
    )


def _endpoint(service: str, actions: Mapping[str, Action]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> JSONResponse:
        name = request.path_params["action"]
        action = actions.get(name)
        if action is None:
            return error_response(
                AwsError("InvalidAction", f"The action {name} is not valid for this web service.")
            )
        body = await request.body()
        try:
            params = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError as error:
            return error_response(
                AwsError("SerializationException", f"The request body is not JSON: {error}")
            )
        if not isinstance(params, dict):
            return error_response(
                AwsError("SerializationException", "The request body must be a JSON object.")
            )
        try:
            # Handlers block (SQLite, Docker): keep them off the event loop.
            result = await run_in_threadpool(action, params)
        except AwsError as error:
            return error_response(error)
        return JSONResponse(dict(result))

    endpoint.__name__ = f"{service}_action"
    return endpoint


def api_routes(context: ApiContext) -> list[Route]:
    """One route per discovered service; the dashboard adds its own routes beside these."""
    routes = []
    for name in service_modules():
        module = importlib.import_module(name)
        if not hasattr(module, "SERVICE"):
            continue
        service: str = module.SERVICE
        routes.append(
            Route(
                f"/api/{service}/{{action}}",
                _endpoint(service, module.actions(context)),
                methods=["POST"],
            )
        )
    return routes


def create_app(context: ApiContext) -> Starlette:
    return Starlette(routes=api_routes(context))
