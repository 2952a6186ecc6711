"""Random valid orders, and posting them to the order API over keep-alive HTTP connections.

Standard library ``http.client`` only: one persistent connection per sending thread, so the
load generator measures the order API, not TCP handshakes. Each response is classified into
the ``result`` label of ``barista_loadgen_requests_total``.
"""

from __future__ import annotations

import http.client
import random
import threading
from collections import deque
from enum import StrEnum
from typing import get_args
from urllib.parse import urlsplit

from services.orders import MAX_QUANTITY, Customer, MenuItem, OrderItem, OrderRequest, Size

MENU_ITEMS: tuple[MenuItem, ...] = get_args(MenuItem)
NAMES = (
    "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Hedy", "Ivan",
    "John", "Ken", "Leslie", "Margaret", "Niklaus", "Radia", "Shafi", "Tim", "Tony", "Yukihiro",
)  # fmt: skip
CUSTOMERS = 200


def random_order(rng: random.Random) -> OrderRequest:
    """A plausible order: a returning customer (so loyalty adds up), 1 to 3 drinks, mostly one."""
    number = rng.randrange(CUSTOMERS)
    customer = Customer(id=f"c{number:03d}", name=NAMES[number % len(NAMES)])
    items = [
        OrderItem(
            item=rng.choice(MENU_ITEMS),
            size=rng.choice(list(Size)),
            quantity=min(rng.choices((1, 2, 3), weights=(8, 3, 1))[0], MAX_QUANTITY),
        )
        for _ in range(rng.choices((1, 2, 3), weights=(6, 3, 1))[0])
    ]
    return OrderRequest(customer=customer, items=items)


class Result(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


# "Not now" answers: throttled, or no healthy target / the broker behind the API is down.
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})


def classify(status: int) -> Result:
    """2xx accepted; 429/502/503/504 unavailable; other 4xx rejected; anything else error.

    A rejected order from this generator means the API and the order model disagree (it only
    sends valid orders), so it is kept apart from "the service is overloaded".
    """
    if 200 <= status < 300:
        return Result.ACCEPTED
    if status in UNAVAILABLE_STATUSES:
        return Result.UNAVAILABLE
    if 400 <= status < 500:
        return Result.REJECTED
    return Result.ERROR


# order-api answers 202 with ``Location: /orders/{order_id}``.
ORDER_PATH = "/orders/"
# Accepted order ids kept for GET /accepted (a few MB at most).
ACCEPTED_KEPT = 100_000

# Errors on a reused connection that mean the server closed it while idle, before reading
# the request; sending again on a fresh connection cannot duplicate the order.
STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class OrderPoster:
    """POSTs JSON orders to ``{target_url}/orders``; safe to call from many threads.

    Each thread keeps its own keep-alive connection (``http.client`` connections are not
    thread-safe); ``close`` closes them all.
    """

    def __init__(self, target_url: str, timeout: float) -> None:
        parts = urlsplit(target_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(
                f"target URL must be http(s)://host[:port][/prefix], got {target_url!r}"
            )
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/orders"
        self._timeout = timeout
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        # deque.append is atomic: the posting threads share it without a lock.
        self._accepted: deque[str] = deque(maxlen=ACCEPTED_KEPT)

    @property
    def url(self) -> str:
        port = f":{self._port}" if self._port else ""
        return f"{self._scheme}://{self._host}{port}{self._path}"

    def post(self, body: bytes) -> Result:
        """Send one order; never raises for network trouble (that is ``Result.ERROR``)."""
        for _attempt in range(2):
            reused = getattr(self._local, "connection", None) is not None
            try:
                return self._post_once(body)
            except STALE_CONNECTION:
                self._discard()
                if not reused:
                    return Result.ERROR
            except (OSError, http.client.HTTPException):
                self._discard()
                return Result.ERROR
        return Result.ERROR

    def _post_once(self, body: bytes) -> Result:
        connection = self._connection()
        connection.request(
            "POST", self._path, body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        if response.will_close:
            self._discard()
        result = classify(response.status)
        location = response.getheader("Location") or ""
        if result is Result.ACCEPTED and location.startswith(ORDER_PATH):
            self._accepted.append(location.removeprefix(ORDER_PATH))
        return result

    def accepted_orders(self) -> list[str]:
        """The ids of the orders the API accepted (202), oldest first; the last
        ``ACCEPTED_KEPT`` of them. How a test checks by id that every one was brewed."""
        return list(self._accepted)

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            connection = cls(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def _discard(self) -> None:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._lock:
                if connection in self._opened:
                    self._opened.remove(connection)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
