"""The pickup board: "order N ready for <name>" on a screen, the moment the barista calls it.

SNS pushes a notification to whoever subscribed; a browser is the subscriber here. The page
(``GET /``) opens an ``EventSource`` on ``GET /stream``, and every "ready" event this
subscription handles is pushed to each open page as a server-sent event (``event: ready``,
JSON data). Plain SSE over Starlette's ``StreamingResponse``: the browser reconnects on its
own (``retry:``), and a comment line every :data:`KEEPALIVE` seconds keeps proxies from
closing an idle stream, which is what an SSE library would add here.

``GET /board`` answers the same calls as JSON, newest first, with how many were announced.
A redelivered "ready" (at least once) is announced once: each order id is called out once
(within ``REMEMBERED_ORDERS``).

Handlers run on the consumer thread and the pages on the side door's event loop, so a call is
handed to each page's loop with ``call_soon_threadsafe``; a page that does not keep up loses
its oldest calls, never slows the subscription.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import BaseRoute, Route

from services.orders import EventKind, OrderEvent
from services.subscriber.recent import REMEMBERED_ORDERS, RecentIds

PAGE = Path(__file__).parent / "static" / "pickup.html"
BOARD_SIZE = 12
KEEPALIVE = 15.0  # seconds between comment lines on an idle stream
PAGE_BACKLOG = 100  # calls a slow page may be behind before its oldest are dropped
RECONNECT_MS = 2000


@dataclass(frozen=True)
class Call:
    """One "order ready" call-out: what the board shows."""

    order_id: str
    number: str  # the short ticket number a customer reads off the screen
    name: str
    cups: int
    barista: str | None
    ready_at: str

    def text(self) -> str:
        return f"order {self.number} ready for {self.name}"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text()}


def ticket_number(order_id: str) -> str:
    """The last six characters of the order id, upper-case: short enough to read across a
    room, and the same on the board, in the logs (``order_id`` ends with it) and in the API."""
    return order_id[-6:].upper()


def call_for(event: OrderEvent) -> Call:
    return Call(
        order_id=event.order_id,
        number=ticket_number(event.order_id),
        name=event.customer_name or event.customer_id,
        cups=event.cups,
        barista=event.barista,
        ready_at=event.at.isoformat(),
    )


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event; JSON has no raw newlines, so ``data:`` is one line."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class _Page:
    """One open page: its event loop and the calls waiting to be written to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: asyncio.Queue[Call] = asyncio.Queue(PAGE_BACKLOG)

    def offer(self, call: Call) -> None:
        """On the page's loop: queue the call, dropping the oldest if the page is behind."""
        if self.calls.full():
            self.calls.get_nowait()
        self.calls.put_nowait(call)


class PickupBoard:
    """The role of the ``pickup-board`` subscription: calls out each order once it is ready."""

    def __init__(self, size: int = BOARD_SIZE, remembered: int = REMEMBERED_ORDERS) -> None:
        self._calls: deque[Call] = deque(maxlen=size)
        self._called = RecentIds(remembered)
        self._pages: set[_Page] = set()
        self._lock = threading.Lock()
        self.announced = 0

    def handle(self, event: OrderEvent) -> None:
        if event.kind is not EventKind.READY:
            return
        call = call_for(event)
        with self._lock:
            if not self._called.first_time(event.order_id):
                return
            self._calls.append(call)
            self.announced += 1
            pages = list(self._pages)
        for page in pages:
            try:
                page.loop.call_soon_threadsafe(page.offer, call)
            except RuntimeError:  # the page's loop has closed (the side door stopped)
                self._forget(page)

    def board(self) -> list[Call]:
        """The last calls, newest first."""
        with self._lock:
            return list(reversed(self._calls))

    def open_page(self) -> _Page:
        page = _Page(asyncio.get_running_loop())
        with self._lock:
            self._pages.add(page)
        return page

    def _forget(self, page: _Page) -> None:
        with self._lock:
            self._pages.discard(page)

    @property
    def pages(self) -> int:
        """Pages with an open stream."""
        with self._lock:
            return len(self._pages)

    async def stream(self) -> AsyncIterator[str]:
        """The SSE stream of one page: the current board, then each call as it happens."""
        page = self.open_page()
        try:
            yield f"retry: {RECONNECT_MS}\n\n"
            yield sse("board", {"calls": [call.as_json() for call in self.board()]})
            while True:
                try:
                    call = await asyncio.wait_for(page.calls.get(), KEEPALIVE)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield sse("ready", call.as_json())
        finally:
            self._forget(page)

    def routes(self) -> list[BaseRoute]:
        async def index(_request: Request) -> FileResponse:
            return FileResponse(PAGE, headers={"Cache-Control": "no-store"})

        async def board(_request: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "announced": self.announced,
                    "pages": self.pages,
                    "calls": [call.as_json() for call in self.board()],
                }
            )

        async def stream(_request: Request) -> StreamingResponse:
            return StreamingResponse(
                self.stream(),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )

        return [Route("/", index), Route("/board", board), Route("/stream", stream)]
