"""``barista serve subscriber``: one subscription to the order-events topic (SNS fan-out).

Run one container per subscription; each receives every event. The subscription name picks
the role (``services/subscriber/roles.py``): ``kitchen-display`` shows the last orders at
``GET /board``, ``loyalty`` counts cups per customer at ``GET /points``, ``notifier`` logs
"order ready for <customer>", ``pickup-board`` serves a page at ``GET /`` that shows each
ready order as it happens (``pickup.py``); ``analytics`` and any other name count events by
kind at ``GET /events``. All answer ``/healthz``, ``/readyz`` (subscribed), ``/metrics`` and
``GET /stats`` (the subscription, whether it is durable, and what it received, by kind: what
the dashboard's topic panel reads) on the side door.

Environment: ``BARISTA_BROKER_URL`` (required), ``BARISTA_SUBSCRIPTION`` (required,
``[a-z0-9-]+``), ``BARISTA_EVENTS_TOPIC`` (order-events), ``BARISTA_DURABLE`` (true),
``BARISTA_BROKER_TIMEOUT`` (30 s), ``BARISTA_PORT`` (8080).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services import logs
from services.lifecycle import Lifecycle, serve_side_door
from services.messaging import open_broker
from services.settings import Settings, SettingsError, load
from services.subscriber.consumer import Subscriber, Target
from services.subscriber.roles import Role, role_for

log = logging.getLogger(__name__)


class SubscriberSettings(Settings):
    broker_url: str = Field(min_length=1)
    subscription: str = Field(pattern=r"^[a-z0-9-]+$", max_length=100)
    events_topic: str = Field(default="order-events", pattern=r"^[a-z0-9-]+$", max_length=100)
    durable: bool = True
    broker_timeout: float = Field(default=30.0, gt=0)
    port: int = Field(default=8080, ge=1, le=65535)

    def target(self) -> Target:
        return Target(
            broker_url=self.broker_url,
            topic=self.events_topic,
            subscription=self.subscription,
            durable=self.durable,
            broker_timeout=self.broker_timeout,
        )


def subscriber_for(settings: SubscriberSettings, role: Role | None = None) -> Subscriber:
    """A subscriber with the role its subscription name asks for (or the one given)."""
    return Subscriber(settings.target(), role or role_for(settings.subscription), open_broker)


def stats_route(subscriber: Subscriber) -> Route:
    """``GET /stats``: this subscription and its counts since the process started."""
    started = time.time()

    async def stats(_request: Request) -> JSONResponse:
        counts = subscriber.stats
        return JSONResponse(
            {
                "subscription": subscriber.target.subscription,
                "topic": subscriber.target.topic,
                "durable": subscriber.target.durable,
                "subscribed": subscriber.ready(),
                "started_at": started,
                "handled": counts.handled,
                "unparseable": counts.unparseable,
                "failed": counts.failed,
                "events": dict(counts.events),
            }
        )

    return Route("/stats", stats, methods=["GET"])


def main(environ: Mapping[str, str]) -> int:
    logs.configure("subscriber")
    try:
        settings = load(SubscriberSettings, environ)
    except SettingsError as error:
        sys.stderr.write(f"barista serve subscriber: {error}\n")
        return 2
    lifecycle = Lifecycle()
    lifecycle.install_signal_handlers()
    subscriber = subscriber_for(settings)
    side_door = serve_side_door(
        settings.port, subscriber.ready, [stats_route(subscriber), *subscriber.role.routes()]
    )
    try:
        subscriber.run(lifecycle.stopping)
    finally:
        side_door.should_exit = True
    log.info("exiting", extra={"stats": vars(subscriber.stats)})
    return 0
