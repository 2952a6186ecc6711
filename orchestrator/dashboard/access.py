"""Who may use the dashboard: the checks its routes make, and the login and logout routes.

The page's buttons start and kill containers, so a request that changes anything (every
control, the logout) must come from the dashboard's own page in a logged-in browser:

- **same origin**: its ``Origin`` is the dashboard's own ``scheme://host[:port]`` (browsers send
  ``Origin`` on every ``fetch`` POST, so a missing one is refused too), and its
  ``Sec-Fetch-Site`` is not ``cross-site`` or ``same-site``: a page on another port of the same
  host is *same-site*, and SameSite cookies do not stop it, this check does;
- **a session** (``session.py``): the ``barista_session`` cookie a login sets; 401 without;
- **JSON**: ``Content-Type: application/json``, which an HTML form cannot send, so a form on
  another site cannot post a body this parses (415 otherwise).

Reading the state needs the session too: its error texts come from the broker, ledger and
load generator clients and may quote their URLs, and a DNS-rebound page would see the same
origin yet carry no cookie. A refusal is 4xx with ``{"error": reason}``, as the controls'.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from orchestrator.api.credentials import Credentials
from orchestrator.dashboard import session
from orchestrator.dashboard.session import COOKIE, Purpose, Session, TokenError

NO_STORE = {"Cache-Control": "no-store"}
DEFAULT_PORTS = {"http": 80, "https": 443}
FOREIGN_SITES = {"cross-site", "same-site"}


class Refusal(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.reason}, self.status, headers=NO_STORE)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the default port filled in, so ``http://h`` and ``http://h:80``
    are one origin; None for what names no origin (``null``, from a sandboxed or file page)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS.get(scheme)


def check_same_origin(request: Request) -> None:
    """Refusal (403) unless the request comes from a page of this dashboard's own origin."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is None:
        raise Refusal(403, f"refused: no Origin header; send the request from {own}/")
    theirs = _origin(origin)
    if theirs is None or theirs != _origin(own):
        raise Refusal(403, f"refused: a request from {origin}, not from this dashboard ({own})")
    site = request.headers.get("sec-fetch-site", "").lower()
    if site in FOREIGN_SITES:
        raise Refusal(403, f"refused: a {site} request (Sec-Fetch-Site)")


def check_json(request: Request) -> None:
    """Refusal (415) unless the body is declared ``application/json``."""
    declared = request.headers.get("content-type", "")
    if declared.split(";")[0].strip().lower() != "application/json":
        shown = declared or "none"
        raise Refusal(415, f"refused: Content-Type {shown}; send application/json")


def check_session(request: Request, credentials: Credentials, now: float) -> Session:
    """The request's session, or Refusal (401) saying why there is none."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise Refusal(401, "not logged in: log in with the access key id and secret access key")
    try:
        return session.verify(credentials, token, Purpose.SESSION, now)
    except TokenError as error:
        raise Refusal(401, str(error)) from None


def check_change(request: Request, credentials: Credentials, now: float) -> Session:
    """Every check a state-changing request must pass, in the order they answer."""
    check_same_origin(request)
    found = check_session(request, credentials, now)
    check_json(request)
    return found


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (empty: ``{}``), or Refusal (400)."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise Refusal(400, f"the body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise Refusal(400, "the body must be a JSON object")
    return body


class Login(BaseModel):
    """The login form's body: the access key id and the secret access key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_key_id: str = Field(min_length=1)
    secret_access_key: str = Field(min_length=1)


def _set_session_cookie(
    response: Response, request: Request, credentials: Credentials, key_id: str, expires: int
) -> None:
    """A session for ``key_id`` until ``expires``, as a cookie only requests to this host
    carry (Path=/), that scripts cannot read (HttpOnly) and that no other site's page sends
    (SameSite=Strict); Secure when the dashboard is served over HTTPS."""
    response.set_cookie(
        COOKIE,
        session.issue(credentials, key_id, Purpose.SESSION, expires),
        max_age=session.SESSION_SECONDS,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def session_routes(credentials: Credentials, wall: Callable[[], float]) -> list[BaseRoute]:
    """``POST /dashboard/session`` logs in with a key pair, ``GET`` says who is logged in,
    ``DELETE`` logs out; ``GET /dashboard/login?token=`` logs in with a login link."""

    async def log_in(request: Request) -> Response:
        try:
            check_same_origin(request)
            check_json(request)
            body = await json_object(request)
        except Refusal as refusal:
            return refusal.response()
        try:
            login = Login.model_validate(body)
        except ValidationError:
            return Refusal(
                400, "invalid request: send access_key_id and secret_access_key"
            ).response()
        if not credentials.configured:
            return Refusal(
                401,
                "the orchestrator has no access keys: set BARISTA_ACCESS_KEY_ID and "
                "BARISTA_SECRET_ACCESS_KEY (make up writes them to .env)",
            ).response()
        secret = credentials.secret_for(login.access_key_id)
        # One answer for an unknown key id and a wrong secret: it does not say which key ids
        # exist. compare_digest keeps the time the same too.
        if secret is None or not hmac.compare_digest(
            secret.encode(), login.secret_access_key.encode()
        ):
            return Refusal(401, "wrong access key id or secret access key").response()
        expires = int(wall()) + session.SESSION_SECONDS
        response = JSONResponse(
            {"access_key_id": login.access_key_id, "expires": expires}, headers=NO_STORE
        )
        _set_session_cookie(response, request, credentials, login.access_key_id, expires)
        return response

    async def who(request: Request) -> Response:
        try:
            found = check_session(request, credentials, wall())
        except Refusal as refusal:
            return refusal.response()
        return JSONResponse(
            {"access_key_id": found.access_key_id, "expires": found.expires}, headers=NO_STORE
        )

    async def log_out(request: Request) -> Response:
        try:
            check_change(request, credentials, wall())
        except Refusal as refusal:
            return refusal.response()
        response = JSONResponse({"logged_out": True}, headers=NO_STORE)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    async def link(request: Request) -> Response:
        now = wall()
        try:
            found = session.verify(
                credentials, request.query_params.get("token", ""), Purpose.LINK, now
            )
        except TokenError as error:
            return Refusal(401, str(error)).response()
        response = RedirectResponse("/", 303, headers=NO_STORE)
        expires = int(now) + session.SESSION_SECONDS
        _set_session_cookie(response, request, credentials, found.access_key_id, expires)
        return response

    return [
        Route("/dashboard/session", log_in, methods=["POST"]),
        Route("/dashboard/session", who, methods=["GET"]),
        Route("/dashboard/session", log_out, methods=["DELETE"]),
        Route(session.LOGIN_PATH, link, methods=["GET"]),
    ]
