"""The queue and the topic side by side: each order to one barista, each event to everyone.

The queue half is what the baristas' own counters say: how many orders each live barista
made ready since it started (its ``barista_order_latency_seconds`` count), beside the ledger's
totals, where ``duplicates`` stays 0 because each order went to exactly one of them.

The topic half reads each subscriber's ``GET /stats`` (``services/subscriber``): the events it
received since its process started, by kind. Every subscriber receives every "order ready"
event the baristas published, one per brewed order, so the ledger's ``brewed`` is what each
should have seen. ``missed`` is how far short of it one is:

    missed = brewed now - brewed when the subscriber was last stopped (0 if never) - received

A durable subscription kept what was published while it was stopped and delivers it on start,
so it catches up to about 0; a fire-and-forget one never gets it, so its ``missed`` stays at
what was published while it was away. Reading the ledger and a subscriber is not one instant
and delivery is at least once, so the figure is approximate by the few events in transit.

The brewed count at a stop is remembered by the dashboard that stopped it (in memory: an
orchestrator restart forgets it, and ``missed`` then counts from the stack's start).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from orchestrator.dashboard.sources import SourceError, http_json

READY = "order-ready"
PLACED = "order-placed"


def parse_subscribers(spec: str | None) -> dict[str, str]:
    """``BARISTA_SUBSCRIBERS`` (``name=url,name=url``, the name the subscriber's Compose
    service) as name → side-door URL; ValueError naming the bad entry."""
    found: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip().rstrip("/")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise ValueError(f"BARISTA_SUBSCRIBERS: {item.strip()!r} is not name=http://host:port")
        found[name] = url
    return found


@dataclass(frozen=True)
class SubscriberLink:
    name: str
    url: str

    def stats(self) -> dict[str, Any]:
        found = http_json(f"{self.url}/stats")
        if not isinstance(found, dict):
            raise SourceError(f"{self.url}/stats answered something other than a JSON object")
        return found


class Subscribers:
    """The topic's subscribers the dashboard shows and may stop and start."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.links = {name: SubscriberLink(name, url) for name, url in urls.items()}
        self._stopped_at_brewed: dict[str, int] = {}
        self._lock = threading.Lock()

    def stopped(self, name: str, brewed: int | None) -> None:
        """The control stopped ``name`` when the ledger said ``brewed`` (None: unknown)."""
        with self._lock:
            if brewed is None:
                self._stopped_at_brewed.pop(name, None)
            else:
                self._stopped_at_brewed[name] = brewed

    def baselines(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stopped_at_brewed)

    def read(self) -> dict[str, dict[str, Any]]:
        """Each subscriber's ``/stats``, or ``{"error": why}`` for one that does not answer."""
        if not self.links:
            return {}

        def one(link: SubscriberLink) -> dict[str, Any]:
            try:
                return link.stats()
            except SourceError as error:
                return {"error": str(error)}

        with ThreadPoolExecutor(len(self.links), thread_name_prefix="subscribers") as pool:
            return dict(zip(self.links, pool.map(one, self.links.values()), strict=True))


def subscriber_view(
    name: str,
    stats: Mapping[str, Any],
    running: bool | None,
    brewed: int | None,
    baseline: int,
) -> dict[str, Any]:
    """One subscriber's row of the topic panel."""
    view: dict[str, Any] = {"name": name, "running": running}
    if "error" in stats:
        view["error"] = stats["error"]
        return view
    events = stats.get("events") or {}
    received = int(events.get(READY, 0))
    view |= {
        "durable": stats.get("durable"),
        "subscribed": stats.get("subscribed"),
        "started_at": stats.get("started_at"),
        "events": dict(events),
        "received": received,
        "counted_from_brewed": baseline,
        "missed": None if brewed is None else max(brewed - baseline - received, 0),
    }
    return view


def queue_view(
    per_barista: Mapping[str, int], ledger: Mapping[str, Any], queue: str
) -> dict[str, Any]:
    """The queue half: orders per live barista and the ledger's totals."""
    view: dict[str, Any] = {
        "queue": queue,
        "baristas": [
            {"instance_id": instance_id, "orders": count}
            for instance_id, count in sorted(per_barista.items())
        ],
        "live_total": sum(per_barista.values()),
    }
    if "error" in ledger:
        view["ledger_error"] = ledger["error"]
    else:
        view |= {key: ledger.get(key) for key in ("accepted", "brewed", "duplicates")}
    return view


def topic_view(
    topic: str,
    subscribers: Mapping[str, Mapping[str, Any]],
    running: Mapping[str, bool | None],
    ledger: Mapping[str, Any],
    baselines: Mapping[str, int],
) -> dict[str, Any]:
    """The topic half: what was published (the ledger's counts) and each subscriber's row."""
    brewed = None if "error" in ledger else ledger.get("brewed")
    return {
        "topic": topic,
        "published": None
        if "error" in ledger
        else {
            PLACED: ledger.get("accepted"),
            READY: brewed,
        },
        "subscribers": [
            subscriber_view(name, stats, running.get(name), brewed, baselines.get(name, 0))
            for name, stats in subscribers.items()
        ],
    }
