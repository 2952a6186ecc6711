"""``barista serve orchestrator``: the control plane as one process.

It runs the Auto Scaling controllers on the main thread, in a fixed order each pass (the
scaling controller decides desired capacity, then the group reconciler converges the groups to
it), the load balancer and ECS controllers on threads of their own, and serves the HTTP API
and the dashboard on another. Everything it knows lives in the SQLite store and on Docker
labels, so stopping it at any moment and starting it again picks up where it was.

Settings (``BARISTA_*`` environment variables):

- ``STATE_PATH``: the SQLite file (``barista.db``);
- ``TIME_SCALE``: how many times faster than AWS the control plane's clock runs (1);
- ``BROKER_URL``: the broker whose queue backlogs policies track (none: backlog unmeasured);
- ``API_HOST`` / ``API_PORT``: where the API listens (127.0.0.1:8500);
- ``RECONCILE_INTERVAL``: wall seconds between passes (1.0);
- ``INSTANCE_LABELS``: extra Docker labels ``key=value,…`` on every instance; the runtime then
  manages only containers that carry them (tests use it to keep runs apart);
- ``HAPROXY_RUNTIME_API``: ``host:port`` of HAProxy's runtime API; set, it turns the load
  balancer controller on (its other settings: ``orchestrator.elb.settings``);
- ``TASK_NETWORK``: the Docker network ECS task containers join by default;
- ``METADATA_ENDPOINT``: the orchestrator as instances reach it, for their instance metadata
  service (``AWS_EC2_METADATA_SERVICE_ENDPOINT``; ``API_ENDPOINT`` when unset);
- ``KAFKA_URL``, ``RABBITMQ_URL``, ``REDIS_URL``: more brokers SQS queues and SNS topics may
  live on (tag ``barista:backend``); ``API_ENDPOINT``: the address subscribers reach the API
  at, for SNS's SubscribeURL; ``SNS_TOPICS``: the demo's topics to adopt (``order-events``);
- ``SAVINGS_PLANS``: the Savings Plans held, a JSON list (``orchestrator.savings_plan_settings``);
- the Spot market's knobs (``SPOT_SEED``, ``SPOT_POOL_CAPACITY``, …): see
  ``orchestrator.spot.model``;
- the dashboard's sources (``LOADGEN_URL``, ``LEDGER_URL``, …): see ``orchestrator.dashboard``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, Protocol

import uvicorn
from pydantic import Field

from broker_adapters import Broker
from orchestrator import dashboard
from orchestrator.api import ApiContext, create_app
from orchestrator.api import sns as sns_api
from orchestrator.api import sqs as sqs_api
from orchestrator.api.credentials import Credentials
from orchestrator.api.instance_metadata import routes as metadata_routes
from orchestrator.api.sns_links import routes as sns_routes
from orchestrator.asg.controller import AutoScalingController, ElbUnhealthy, Market, Notify
from orchestrator.asg.launch_holds import LaunchHolds
from orchestrator.asg.notifications import Notifier
from orchestrator.asg.scaling_controller import ScalingController
from orchestrator.asg.store import Store
from orchestrator.asg.terminator import BackgroundStops, Drain
from orchestrator.clock import ScaledClock
from orchestrator.ecs.wiring import ecs_controllers
from orchestrator.elb.settings import ElbSettings
from orchestrator.errors import ValidationError
from orchestrator.loop import START_CONCURRENCY, run_passes
from orchestrator.monitoring import MetricsSampler
from orchestrator.runtime import Runtime
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.swarm import SwarmRuntime, swarm_client
from orchestrator.savings_plan_settings import plans_from_environ
from orchestrator.sns.delivery import DeliveryController, sqs_sender
from orchestrator.sns.publishing import publish
from orchestrator.sns.service import shutdown as sns_shutdown
from orchestrator.spot.controller import SpotMarketController
from orchestrator.spot.model import MarketSettings
from orchestrator.sqs.brokers import urls_from_environ
from orchestrator.time_scale import TimeScale
from services import logs
from services.lifecycle import Lifecycle
from services.messaging import open_broker
from services.settings import Settings, SettingsError, load

log = logging.getLogger(__name__)

CLOCK_ORIGIN = "clock-origin"


class OrchestratorSettings(Settings):
    state_path: Path = Path("barista.db")
    time_scale: float = Field(default=1.0, gt=0)
    broker_url: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8500, ge=0, le=65535)
    reconcile_interval: float = Field(default=1.0, gt=0)
    instance_labels: str = Field(default="", pattern=r"^([^=,]+=[^,]*(,[^=,]+=[^,]*)*)?$")
    # The dashboard's sources (orchestrator/dashboard/config.py); unset ones show as "n/a".
    loadgen_url: str | None = None
    ledger_url: str | None = None
    ledger_namespace: str = Field(default="barista:ledger", min_length=1)
    orders_queue: str = Field(default="orders", min_length=1)
    dead_letter_queue: str = Field(default="orders-dlq", min_length=1)
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    visibility_timeout: float = Field(default=30.0, ge=0, le=43200)
    broker_service: str | None = None
    compose_project: str | None = None
    instance_metrics_port: int = Field(default=8080, ge=1, le=65535)
    subscribers: str | None = Field(default=None, pattern=r"^([a-z0-9-]+=https?://[^,]+,?)*$")
    # Load balancers: the HAProxy runtime API (host:port) turns the ELB controller on; the
    # rest of its settings are orchestrator/elb/settings.py's.
    haproxy_runtime_api: str | None = None
    # ECS: the Docker network task containers join unless their task definition names one.
    task_network: str | None = None
    # SQS and SNS: the other backends' brokers (BARISTA_BROKER_URL's is the default one), the
    # address subscribers reach the orchestrator at (for SNS's SubscribeURL and queue URLs),
    # and the demo's topics to adopt at start (orchestrator/sqs, orchestrator/sns).
    kafka_url: str | None = None
    rabbitmq_url: str | None = None
    redis_url: str | None = None
    api_endpoint: str | None = None
    sns_topics: str | None = None
    # Where instances reach the orchestrator's instance metadata service (API_ENDPOINT's
    # address unless set); unset, instances are not told one.
    metadata_endpoint: str | None = None
    # Where instances run (docs/swarm.md): one Docker engine, or the nodes of a Docker Swarm
    # (zones are node labels) whose manager answers at SWARM_URL (DOCKER_HOST's if unset);
    # SWARM_NETWORK is the attachable overlay network every instance there joins.
    runtime: Literal["docker", "swarm"] = "docker"
    swarm_url: str | None = None
    swarm_network: str | None = None

    def labels(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.instance_labels.split(",") if item)
        return {key.strip(): value.strip() for key, value in pairs}


def control_plane_clock(store: Store, time_scale: float) -> ScaledClock:
    """The scaled clock anchored where this store's first orchestrator started it."""
    origin = float(store.setting(CLOCK_ORIGIN, repr(ScaledClock(0.0).wall())))
    return ScaledClock(origin, TimeScale(time_scale))


class ControlLoop:
    """The Auto Scaling controllers of one store, run pass after pass on the calling thread:
    first the scaling controller (datapoints, alarms, schedules → desired capacity), then the
    group reconciler (desired capacity → containers, and each instance's lifecycle).

    It opens its own connection to the store there: SQLite connections belong to one thread,
    and the API's threads open theirs. ``drain`` and ``elb_unhealthy`` are the load
    balancer's side (``AutoScalingController``); ``notify`` sends lifecycle hook
    notifications. Instances are stopped on threads of their own, so no pass waits, and a
    pass launches up to ``START_CONCURRENCY`` of them at once.
    """

    def __init__(
        self,
        store_path: Path,
        runtime: Runtime,
        backlog: Callable[[str], int] | None = None,
        *,
        drain: Drain | None = None,
        elb_unhealthy: ElbUnhealthy | None = None,
        notify: Notify | None = None,
        market: Market | None = None,
    ) -> None:
        self.store_path = store_path
        self.market = market
        self.runtime = runtime
        self.backlog = backlog
        self.drain = drain
        self.elb_unhealthy = elb_unhealthy
        self.notify = notify
        self.passes = 0

    def run(self, stopping: threading.Event, interval: float) -> None:
        with Store(self.store_path) as store:
            sampler = MetricsSampler(store, self.runtime, self.backlog)
            scaling = ScalingController(store, self.runtime, sampler)
            stops = BackgroundStops(self.runtime)
            auto_scaling = AutoScalingController(
                store,
                self.runtime,
                drain=self.drain,
                elb_unhealthy=self.elb_unhealthy,
                stops=stops,
                notify=self.notify,
                market=self.market,
                start_workers=START_CONCURRENCY,
            )

            def one_pass() -> None:
                scaling.evaluate_once()
                auto_scaling.reconcile_once()
                self.passes += 1

            try:
                run_passes(one_pass, stopping, interval, "auto scaling control")
            finally:
                sampler.close()
                stops.shutdown()


class _Reconciler(Protocol):
    def run(self, stopping: threading.Event, interval: float = 1.0) -> None: ...


def _start(
    name: str, controller: _Reconciler, stopping: threading.Event, interval: float
) -> threading.Thread:
    """Each controller on a thread of its own: a load balancer draining a target (which waits
    out the deregistration delay) must not hold up the others."""
    thread = threading.Thread(
        target=controller.run, args=(stopping, interval), name=name, daemon=True
    )
    thread.start()
    return thread


def _backlog_reader(broker: Broker | None) -> Callable[[str], int] | None:
    """Backlog of a queue, for every controller that asks: one broker connection, one caller
    at a time (broker clients are not shared across threads)."""
    if broker is None:
        return None
    lock = threading.Lock()

    def backlog(queue: str) -> int:
        with lock:
            return broker.backlog(queue).total

    return backlog


def _group_zones(store_path: Path) -> list[str]:
    """Every zone an Auto Scaling group uses: the Spot market opens pools there."""
    with Store(store_path) as store:
        return [z for group in store.groups().values() for z in group.availability_zones]


def _spot_market(
    store_path: Path, runtime: Runtime, settings: MarketSettings
) -> tuple[SpotMarketController, BackgroundStops]:
    """The Spot market, stopping interrupted instances on threads of their own."""
    stops = BackgroundStops(runtime)
    market = SpotMarketController(
        store_path, runtime, settings, stop=stops.stop, zones=lambda: _group_zones(store_path)
    )
    return market, stops


def _instance_runtime(settings: OrchestratorSettings, clock: Callable[[], float]) -> Runtime:
    """BARISTA_RUNTIME's choice: instances on this engine, or on a Swarm's nodes by zone."""
    metadata_url = settings.metadata_endpoint or settings.api_endpoint
    if settings.runtime == "swarm":
        return SwarmRuntime(
            swarm_client(settings.swarm_url),
            network=settings.swarm_network,
            labels=settings.labels(),
            clock=clock,
            metadata_url=metadata_url,
        )
    return DockerRuntime(labels=settings.labels(), clock=clock, metadata_url=metadata_url)


def main(environ: Mapping[str, str]) -> int:
    logs.configure("orchestrator")
    try:
        settings = load(OrchestratorSettings, environ)
        # Savings Plans are read by Cost Explorer; a bad one is refused here, at start.
        market_settings, _ = MarketSettings.from_environ(environ), plans_from_environ(environ)
    except (SettingsError, ValidationError) as error:
        log.error(str(error))
        return 2
    try:
        credentials = Credentials.from_environ(environ)
    except ValueError as error:
        log.error(str(error))
        return 2
    if not credentials.configured:
        log.warning(
            "no access keys: every API request will be refused; set BARISTA_ACCESS_KEY_ID and "
            "BARISTA_SECRET_ACCESS_KEY (make up writes them to .env)"
        )
    lifecycle = Lifecycle()
    lifecycle.install_signal_handlers()
    with Store(settings.state_path) as store:
        clock = control_plane_clock(store, settings.time_scale)
    runtime = _instance_runtime(settings, clock)
    broker = open_broker(settings.broker_url, timeout=10.0) if settings.broker_url else None
    context = ApiContext(settings.state_path, runtime, dict(environ), credentials)
    app = create_app(
        context,
        [*sns_routes(context), *metadata_routes(context), *dashboard.routes(context, settings)],
    )
    api = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            # On a daemon thread: asyncio and h11, as services.lifecycle says why.
            loop="asyncio",
            http="h11",
        )
    )
    api_thread = threading.Thread(target=api.run, name="api", daemon=True)
    api_thread.start()
    log.info(
        "orchestrator started",
        extra={
            "api": f"{settings.api_host}:{settings.api_port}",
            "time_scale": settings.time_scale,
        },
    )
    backlog = _backlog_reader(broker)
    interval = settings.reconcile_interval
    elb = (
        ElbSettings.from_environ(environ).controller(
            settings.state_path, runtime, LaunchHolds(settings.state_path)
        )
        if settings.haproxy_runtime_api
        else None
    )
    ecs, service_scaling = ecs_controllers(
        settings.state_path,
        runtime,
        clock=clock,
        time_scale=TimeScale(settings.time_scale),
        labels=settings.labels(),
        elb=elb,
        backlog=backlog,
        network=settings.task_network,
    )
    brokers, _ = urls_from_environ(environ)
    sns_delivery = DeliveryController(
        settings.state_path,
        brokers,
        settings.api_endpoint or f"http://127.0.0.1:{settings.api_port}",
        sqs_sender(sqs_api.service_for(context)),
        time_scale=TimeScale(settings.time_scale),
    )
    send_to_queue = sqs_sender(sqs_api.service_for(context))

    def publish_to_topic(arn: str, body: str) -> None:
        publish(sns_api.service_for(context), {"TopicArn": arn, "Message": body})

    hook_notifier = Notifier(
        send_to_queue=lambda arn, body: send_to_queue(arn, {"MessageBody": body}),
        publish_to_topic=publish_to_topic,
    )
    market, spot_stops = _spot_market(settings.state_path, runtime, market_settings)
    threads = [
        _start("spot-market", market, lifecycle.stopping, interval),
        _start("ecs", ecs, lifecycle.stopping, interval),
        _start("ecs-scaling", service_scaling, lifecycle.stopping, interval),
        _start("sns-delivery", sns_delivery, lifecycle.stopping, interval),
    ]
    if elb is not None:
        threads.append(_start("elb", elb, lifecycle.stopping, interval))
    try:
        ControlLoop(
            settings.state_path,
            runtime,
            backlog,
            drain=elb,
            elb_unhealthy=elb.elb_unhealthy if elb is not None else None,
            notify=hook_notifier,
            market=market.quotes,
        ).run(lifecycle.stopping, interval)
    finally:
        for thread in threads:
            thread.join(timeout=30)
        spot_stops.shutdown()
        api.should_exit = True
        api_thread.join(timeout=5)
        # Messages the SQS API holds go back to their brokers; connections close.
        sqs_api.shutdown()
        sns_shutdown()
        if broker is not None:
            broker.close()
    return 0
