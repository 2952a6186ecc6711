"""The RabbitMQ management HTTP API, for queue depths (AMQP has no "unacked" count).

The broker refreshes these statistics every ``collect_statistics_interval`` (1 s in the
project's rabbitmq.conf), so a backlog read may be up to about a second old.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from broker_adapters.core import BrokerError, BrokerUnavailable, QueueNotDeclared
from broker_adapters.rabbitmq import codec
from broker_adapters.rabbitmq.config import RabbitMQConfig

HTTP_NOT_FOUND = 404
HTTP_SERVER_ERROR = 500


class QueueNotFound(LookupError):
    """The management API knows no queue of that name in the vhost."""


class ManagementError(RuntimeError):
    """The management API answered with an error other than "not found"."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """A 5xx: the node is starting or stopping; asking again later may work."""
        return self.status >= HTTP_SERVER_ERROR


class ManagementClient:
    """GETs against ``/api`` with the AMQP user's credentials."""

    def __init__(self, config: RabbitMQConfig) -> None:
        if not config.management_url.startswith(("http://", "https://")):
            raise ValueError(f"management_url must be http(s), got {config.management_url!r}")
        self._root = config.management_url.rstrip("/") + "/api"
        self._vhost = quote(config.virtual_host, safe="")
        token = base64.b64encode(f"{config.user}:{config.password}".encode()).decode()
        self._authorization = f"Basic {token}"
        self._timeout = config.socket_timeout
        self._url = config.management_url
        self._patience = config.timeout

    def in_flight_and_delayed(self, queue: str, pause: Callable[[float], None]) -> tuple[int, int]:
        """Unacked messages of ``queue`` and messages waiting in its delay queues.

        Retries while the API is unreachable or answers 5xx (a restarting node), pausing
        with ``pause``, up to the configured timeout; then raises BrokerUnavailable.
        """
        deadline = time.monotonic() + self._patience
        backoff = 0.05
        while True:
            try:
                stats = self.queue(queue)
                delay_queues = self.queues_matching(codec.delay_queue_pattern(queue))
            except QueueNotFound as error:
                raise QueueNotDeclared(f"no queue {queue!r} on the broker") from error
            except (OSError, ManagementError) as error:
                if isinstance(error, ManagementError) and not error.transient:
                    raise BrokerError(str(error)) from error
                if time.monotonic() + backoff > deadline:
                    raise BrokerUnavailable(
                        f"RabbitMQ's management API at {self._url} did not answer within "
                        f"{self._patience:.0f} s: {error}",
                    ) from error
                pause(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            in_flight = int(stats.get("messages_unacknowledged", 0) or 0)
            return in_flight, sum(int(item.get("messages", 0) or 0) for item in delay_queues)

    def queue(self, name: str) -> dict[str, Any]:
        """One queue's statistics (``messages_ready``, ``messages_unacknowledged``, …)."""
        result: dict[str, Any] = self._get(f"/queues/{self._vhost}/{quote(name, safe='')}")
        return result

    def queues_matching(self, pattern: str) -> list[dict[str, Any]]:
        """Name and message count of every queue whose name matches ``pattern`` (a regex)."""
        query = urlencode(
            {
                "name": pattern,
                "use_regex": "true",
                "page": 1,
                "page_size": 500,
                "columns": "name,messages",
            }
        )
        page: dict[str, Any] = self._get(f"/queues/{self._vhost}?{query}")
        items: list[dict[str, Any]] = page.get("items", [])
        return items

    def _get(self, path: str) -> Any:
        url = self._root + path
        # The scheme was checked in __init__, so urllib never opens file: or custom URLs.
        request = urllib.request.Request(  # noqa: S310
            url, headers={"Authorization": self._authorization}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == HTTP_NOT_FOUND:
                raise QueueNotFound(path) from error
            raise ManagementError(
                f"GET {path}: HTTP {error.code} {error.reason}", error.code
            ) from error
