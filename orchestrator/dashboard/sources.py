"""The dashboard's readers outside the store: load generator, ledger, broker, baristas' metrics.

Each one answers a value or raises; the snapshot turns a failure into "n/a" with the reason.
Nothing here caches a measurement: every read is a fresh look at the thing itself.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from broker_adapters import Broker
from services.ledger import Ledger, LedgerSummary
from services.messaging import declare_orders, open_broker

HTTP_TIMEOUT = 2.0
LATENCY_METRIC = "barista_order_latency_seconds"


class SourceError(Exception):
    """A source did not answer as it should; the message says what to look at."""

    def __init__(self, message: str, status: int = 502, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def http_json(url: str, body: Mapping[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL comes from the operator's settings
        url,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read())
        except ValueError:
            detail = None
        raise SourceError(f"{url} answered {error.code}", error.code, detail) from None
    except (OSError, ValueError) as error:
        raise SourceError(f"{url} does not answer: {error}") from None


class Loadgen:
    """The load generator's side door: ``GET /pattern`` and ``POST /pattern``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/pattern"

    def status(self) -> dict[str, Any]:
        found = http_json(self.url)
        if not isinstance(found, dict):
            raise SourceError(f"{self.url} answered something other than a JSON object")
        return found

    def change(self, update: Mapping[str, Any]) -> dict[str, Any]:
        changed = http_json(self.url, update)
        if not isinstance(changed, dict):
            raise SourceError(f"{self.url} answered something other than a JSON object")
        return changed


class LedgerReader:
    def __init__(self, url: str, namespace: str) -> None:
        self._ledger = Ledger.from_url(url, namespace)

    def summary(self) -> LedgerSummary:
        return self._ledger.summary()


@dataclass(frozen=True)
class OrdersQueue:
    name: str
    dead_letter_queue: str
    max_receive_count: int
    visibility_timeout: float


class BrokerLink:
    """One broker connection, opened on first use and declared like the baristas declare.

    Adapters send only to queues declared in the same process, with the redrive policy of the
    declaration, so this declares the orders queue exactly as the services do (an identical
    declaration changes nothing on the broker).
    """

    def __init__(self, url: str, queue: OrdersQueue, timeout: float = 10.0) -> None:
        self.url = url
        self.queue = queue
        self._timeout = timeout
        self._broker: Broker | None = None
        self._lock = threading.Lock()

    def _connected(self) -> Broker:
        with self._lock:
            if self._broker is None:
                broker = open_broker(self.url, self._timeout)
                try:
                    declare_orders(
                        broker,
                        self.queue.name,
                        self.queue.dead_letter_queue,
                        self.queue.max_receive_count,
                        self.queue.visibility_timeout,
                    )
                except BaseException:
                    broker.close()
                    raise
                self._broker = broker
            return self._broker

    def send_raw(self, body: bytes) -> str:
        return self._connected().send(self.queue.name, body)

    def backlog(self, queue: str) -> int:
        return self._connected().backlog(queue).total

    def close(self) -> None:
        with self._lock:
            if self._broker is not None:
                self._broker.close()
                self._broker = None


@dataclass(frozen=True)
class Buckets:
    """A cumulative Prometheus histogram: (upper bound, count ≤ bound), ascending, +Inf last."""

    bounds: tuple[tuple[float, float], ...]

    @property
    def count(self) -> float:
        return self.bounds[-1][1] if self.bounds else 0.0

    def quantile(self, q: float) -> float | None:
        """Prometheus's ``histogram_quantile``: linear within the bucket the rank falls in.

        None with no observations. A rank in the +Inf bucket answers the highest finite bound
        (the most the histogram can say), as Prometheus does.
        """
        total = self.count
        if total <= 0:
            return None
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        for bound, cumulative in self.bounds:
            if cumulative >= rank:
                if math.isinf(bound):
                    return lower_bound
                in_bucket = cumulative - lower_count
                if in_bucket <= 0:
                    return bound
                return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket
            lower_bound, lower_count = bound, cumulative
        return lower_bound

    def since(self, earlier: Buckets) -> Buckets:
        """The observations made after ``earlier`` was read from the same process; all of
        them if the counters went back (the process restarted in between)."""
        before = dict(earlier.bounds)
        delta = tuple((bound, count - before.get(bound, 0.0)) for bound, count in self.bounds)
        if any(count < 0 for _, count in delta):
            return self
        return Buckets(delta)


def merge(histograms: Iterable[Buckets]) -> Buckets:
    """Sum histograms with the same bounds (every barista uses ``LATENCY_BUCKETS``)."""
    totals: dict[float, float] = {}
    for histogram in histograms:
        for bound, count in histogram.bounds:
            totals[bound] = totals.get(bound, 0.0) + count
    return Buckets(tuple(sorted(totals.items())))


def parse_latency(text: str, metric: str = LATENCY_METRIC) -> Buckets | None:
    """The ``metric`` histogram from a ``/metrics`` page, or None if the page has none."""
    for family in text_string_to_metric_families(text):
        if family.name != metric:
            continue
        bounds = [
            (float(sample.labels["le"]), float(sample.value))
            for sample in family.samples
            if sample.name.endswith("_bucket")
        ]
        return Buckets(tuple(sorted(bounds))) if bounds else None
    return None


def _scrape(url: str) -> Buckets | None:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT / 2) as response:  # noqa: S310
            return parse_latency(response.read().decode())
    except (OSError, ValueError):
        return None


def scrape_latency(addresses: Sequence[str], port: int) -> dict[str, Buckets]:
    """Each reachable barista's latency histogram by address (those without one are left out)."""
    if not addresses:
        return {}
    urls = [f"http://{address}:{port}/metrics" for address in addresses]
    with ThreadPoolExecutor(min(len(urls), 8), thread_name_prefix="scrape") as pool:
        found = dict(zip(addresses, pool.map(_scrape, urls), strict=True))
    return {address: buckets for address, buckets in found.items() if buckets is not None}
