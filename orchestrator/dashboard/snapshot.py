"""The dashboard's one JSON document: everything the page draws, read fresh from the truth.

Definitions, activities and datapoints come from the store, instances from the runtime (Docker
labels), target health from the ELB controller's view of HAProxy, the ledger from Redis, the
traffic pattern from the load generator. History the page charts is rebuilt from what is on
record, so a restarted orchestrator draws the same past: instance counts from the activity
history, backlog from the datapoints. The only memory of its own is the last minutes of ledger
counts and baristas' latency histograms, to turn counters into rates and recent percentiles;
a restart costs a few seconds of "measuring" there.

A source that is not configured or does not answer in time gives ``{"error": reason}`` in its
place; the page shows "n/a" and the reason. No number is estimated where it cannot be read.
"""

from __future__ import annotations

import bisect
import collections
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from orchestrator.api import ApiContext
from orchestrator.asg.group import AutoScalingGroup
from orchestrator.asg.lifecycle import InstanceLifecycle
from orchestrator.asg.store import Store
from orchestrator.dashboard.config import DashboardSettings
from orchestrator.dashboard.ecs_services import service_views
from orchestrator.dashboard.fanout import (
    Subscribers,
    parse_subscribers,
    queue_view,
    topic_view,
)
from orchestrator.dashboard.sources import (
    BrokerLink,
    Buckets,
    LedgerReader,
    Loadgen,
    OrdersQueue,
    SourceError,
    merge,
    scrape_latency,
)
from orchestrator.errors import AwsError
from orchestrator.instances import Health, Instance
from orchestrator.scaling.activity import Activity, ActivityStatusCode
from orchestrator.scaling.metrics import PERIOD, CpuUtilizationMetric, QueueBacklogMetric
from orchestrator.scaling.policy import ScalingPolicy, TargetTrackingPolicy
from orchestrator.scaling.predictive import PredictiveScalingConfiguration

WINDOW_PERIODS = 180  # the charts show 180 datapoint periods: CloudWatch's default 3 hours
SOURCE_DEADLINE = 2.5  # wall seconds the slow sources get before they show as "no answer"
CACHE_SECONDS = 0.5  # several open pages share one snapshot per half second
RATE_WINDOW = 10.0  # wall seconds of ledger readings a throughput figure spans
RATE_HISTORY = 180.0  # wall seconds of throughput the page can chart
RATE_STEP = 5.0  # wall seconds each charted throughput point spans
LOST_WINDOW = 10.0  # wall seconds of ledger-vs-queue gaps the "lost" figure takes the least of
MIN_LOST_READINGS = 3  # readings (and seconds) before "lost" is shown
LAUNCHING = "Launching a new EC2 instance: "
TERMINATING = "Terminating EC2 instance: "
PERCENTILES = (0.5, 0.9, 0.99)
LATENCY_WINDOW = 60.0  # wall seconds of orders the latency percentiles describe
MIN_LATENCY_SPAN = 5.0  # below this the readings are too new to make a window of


def instance_state(instance: Instance, draining: frozenset[str]) -> str:
    """The one word the table shows: AWS's lifecycle, with Docker's view of health."""
    if instance.health is Health.STOPPED:
        return "terminating"
    if instance.instance_id in draining:
        return "draining"
    if instance.health is Health.STARTING:
        return "pending"
    if instance.health is Health.UNHEALTHY:
        return "unhealthy"
    return "in service"


def placement(instances: Iterable[Instance]) -> list[dict[str, Any]]:
    """Live instances per zone and host (a Swarm node; None on one engine), zone by zone:
    on a Swarm a zone is a set of hosts, and losing one shows as its row emptying."""
    counts = collections.Counter(
        (i.availability_zone, i.host) for i in instances if i.health is not Health.STOPPED
    )
    return [
        {"availability_zone": zone, "host": host, "instances": n}
        for (zone, host), n in sorted(
            counts.items(), key=lambda item: (item[0][0], item[0][1] or "")
        )
    ]


def capacity_history(
    current: int, activities: Iterable[Activity], since: float, now: float
) -> list[tuple[float, int]]:
    """Instance count over [since, now] as steps, replayed backwards from ``current``.

    Each successful launch added one instance when it ended, each termination removed one;
    undoing the ones after ``since`` gives the count then. Activities are on record in the
    store, so this survives a restart, unlike a count kept in memory.
    """
    changes = []
    for activity in activities:
        if activity.status_code is not ActivityStatusCode.SUCCESSFUL:
            continue
        at = activity.end_time if activity.end_time is not None else activity.start_time
        if at <= since or at > now:
            continue
        if activity.description.startswith(LAUNCHING):
            changes.append((at, 1))
        elif activity.description.startswith(TERMINATING):
            changes.append((at, -1))
    changes.sort()
    count = current - sum(delta for _, delta in changes)
    points = [(since, max(count, 0))]
    for at, delta in changes:
        count += delta
        points.append((at, max(count, 0)))
    points.append((now, current))
    return points


def count_at(history: Sequence[tuple[float, int]], at: float) -> int:
    index = bisect.bisect_right([t for t, _ in history], at) - 1
    return history[max(index, 0)][1]


def _series(points: Sequence[tuple[float, float]]) -> list[list[float]]:
    return [[t, v] for t, v in sorted(points)]


def forecast_view(
    policy: ScalingPolicy,
    store: Store,
    history: Sequence[tuple[float, int]],
    activities: Iterable[Activity],
) -> dict[str, Any]:
    """A predictive policy's chart: its capacity forecast (hourly, past hours and the next
    ones) against the instances the group had, and the moments a launch came from the
    forecast (the activities whose cause names the policy's forecast)."""
    _, forecast = store.forecast(policy.auto_scaling_group_name, policy.policy_name)
    marker = f"the forecast of predictive scaling policy {policy.policy_name} "
    launched = sorted({a.start_time for a in activities if marker in a.cause})
    return {
        "forecast": (
            [[t, c] for t, c in zip(forecast.timestamps, forecast.capacity, strict=True)]
            if forecast is not None
            else []
        ),
        "forecast_updated": forecast.update_time if forecast is not None else None,
        "actual": [[t, n] for t, n in history],
        "from_forecast": [[t, count_at(history, t)] for t in launched],
    }


def policy_view(
    policy: ScalingPolicy,
    store: Store,
    history: Sequence[tuple[float, int]],
    activities: Iterable[Activity] = (),
) -> dict[str, Any]:
    """A policy with the series it tracks and its target, as the policy itself computes it:
    backlog ÷ instances for a queue, the group's average CPU otherwise; a predictive policy
    with its forecast (:func:`forecast_view`)."""
    view: dict[str, Any] = {
        "policy_name": policy.policy_name,
        "policy_type": policy.policy_type.value,
        "enabled": policy.enabled,
        "target": None,
        "metric": None,
        "series": [],
    }
    definition = policy.definition
    if isinstance(definition, PredictiveScalingConfiguration):
        view["metric"] = f"capacity forecast ({definition.mode.value}) against instances"
        view.update(forecast_view(policy, store, history, activities))
        return view
    if not isinstance(definition, TargetTrackingPolicy):
        return view
    view["target"] = definition.configuration.target_value
    metric = definition.metric
    points = store.datapoints(metric.key, limit=WINDOW_PERIODS)
    if isinstance(metric, QueueBacklogMetric):
        view["metric"] = f"backlog per instance of {metric.queue_name}"
        per_instance = []
        for at, backlog in points:
            instances = count_at(history, at)
            if instances > 0:  # with no instance AWS's quotient is undefined: no point
                per_instance.append((at, backlog / instances))
        view["series"] = _series(per_instance)
    elif isinstance(metric, CpuUtilizationMetric):
        view["metric"] = "average CPU utilization (%)"
        view["series"] = _series(points)
    return view


def _activity_view(activity: Activity) -> dict[str, Any]:
    return {
        "group": activity.resource_id,
        "description": activity.description,
        "cause": activity.cause,
        "status": activity.status_code.value,
        "start_time": activity.start_time,
    }


@dataclass
class Sources:
    """The external readers; each None when its setting is absent."""

    loadgen: Loadgen | None = None
    ledger: LedgerReader | None = None
    broker: BrokerLink | None = None
    unset: dict[str, str] = field(default_factory=dict)  # source → the variable to set
    subscribers: Subscribers = field(default_factory=lambda: Subscribers({}))

    @classmethod
    def from_settings(cls, settings: DashboardSettings) -> Sources:
        unset = {}
        loadgen = Loadgen(settings.loadgen_url) if settings.loadgen_url else None
        if loadgen is None:
            unset["traffic"] = "BARISTA_LOADGEN_URL is not set"
        ledger = (
            LedgerReader(settings.ledger_url, settings.ledger_namespace)
            if settings.ledger_url
            else None
        )
        if ledger is None:
            unset["ledger"] = "BARISTA_LEDGER_URL is not set"
        broker = None
        if settings.broker_url:
            queue = OrdersQueue(
                settings.orders_queue,
                settings.dead_letter_queue,
                settings.max_receive_count,
                settings.visibility_timeout,
            )
            broker = BrokerLink(settings.broker_url, queue)
        else:
            unset["broker"] = "BARISTA_BROKER_URL is not set"
        subscribers = Subscribers(parse_subscribers(settings.subscribers))
        if not subscribers.links:
            unset["subscribers"] = "BARISTA_SUBSCRIBERS is not set"
        return cls(loadgen, ledger, broker, unset, subscribers)

    def close(self) -> None:
        if self.broker is not None:
            self.broker.close()


def _error(reason: str) -> dict[str, Any]:
    return {"error": reason}


class Dashboard:
    """Builds snapshots for one orchestrator; safe to call from the API's threads."""

    def __init__(
        self,
        context: ApiContext,
        settings: DashboardSettings,
        sources: Sources | None = None,
        wall: Callable[[], float] = time.time,
        elb: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.context = context
        self.settings = settings
        self.sources = sources if sources is not None else Sources.from_settings(settings)
        self.wall = wall
        self._elb = elb if elb is not None else self._target_health
        self._pool = ThreadPoolExecutor(6, thread_name_prefix="dashboard")
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._ledger_readings: collections.deque[tuple[float, int, int]] = collections.deque()
        self._running: dict[str, Future[Any]] = {}
        self._gaps: collections.deque[tuple[float, int]] = collections.deque()
        self._latency_readings: dict[str, collections.deque[tuple[float, Buckets]]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.sources.close()

    @property
    def backend(self) -> str | None:
        url = self.settings.broker_url
        return urlsplit(url).scheme if url else None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            wall = self.wall()
            if self._cached is not None and wall - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            built = self._build(wall)
            self._cached = (wall, built)
            return built

    def brewed(self) -> int | None:
        """The ledger's brewed count now, or None when the ledger does not answer."""
        if self.sources.ledger is None:
            return None
        try:
            return self.sources.ledger.summary().brewed
        except Exception:  # a ledger that does not answer: the figure is unknown, not 0
            return None

    def invalidate(self) -> None:
        """After a control acts, the next snapshot shows its effect at once."""
        with self._lock:
            self._cached = None

    def _build(self, wall: float) -> dict[str, Any]:
        runtime = self.context.runtime
        now = runtime.now()
        since = now - WINDOW_PERIODS * PERIOD
        deadline = time.monotonic() + SOURCE_DEADLINE
        slow: dict[str, Future[Any]] = {
            "elb": self._submit("elb", self._elb),
            "traffic": self._submit("traffic", self._traffic),
            "ledger": self._submit("ledger", self._ledger_counts),
            "backlog": self._submit("backlog", self._live_backlog),
            "subscribers": self._submit("subscribers", self._subscribers),
        }
        instances = runtime.instances()
        slow["scraped"] = self._submit("scraped", lambda: self._scrape(instances))
        with Store(self.context.store_path) as store:
            groups = store.groups()
            lifecycles = store.instance_lifecycles()
            activities = store.activities(None, 500)
            policies = store.policies()
            queues = self._queue_views(store, policies)
            done = {name: _result(future, deadline) for name, future in slow.items()}
            latency = self._latency(done["scraped"])
            elb = done["elb"]
            draining = frozenset(elb.get("draining", ())) if isinstance(elb, dict) else frozenset()
            group_views = [
                self._group_view(
                    group,
                    instances=instances,
                    activities=activities,
                    policies=policies,
                    store=store,
                    draining=draining,
                    lifecycles=lifecycles,
                    now=now,
                )
                for group in groups.values()
            ]
        services = service_views(self.context.store_path)
        return {
            "clock": {
                "now": now,
                "wall": wall,
                "time_scale": self.settings.time_scale,
                "period": PERIOD,
                "window": WINDOW_PERIODS * PERIOD,
                "since": since,
            },
            "backend": self.backend,
            "traffic": done["traffic"],
            "queues": queues,
            "live_backlog": done["backlog"],
            "groups": group_views,
            "activities": [_activity_view(a) for a in activities[:25]],
            "load_balancers": {k: v for k, v in elb.items() if k != "draining"},
            "services": services,
            "throughput": self._throughput(done["ledger"]),
            "latency": latency,
            "ledger": self._ledger_view(done["ledger"]),
            "fanout": self._fanout(
                self._orders_per_barista(done["scraped"], instances, policies),
                done["ledger"],
                done["subscribers"],
            ),
            "controls": {
                "traffic": self.sources.loadgen is not None,
                "poison": self.sources.broker is not None,
                "restart_broker": self.broker_service() is not None,
                "chaos": all(hasattr(runtime, name) for name in ("kill", "pause", "unpause")),
                "deploy": bool(services),
                "subscribers": bool(self.sources.subscribers.links)
                and all(hasattr(runtime, name) for name in ("stop_service", "start_service")),
            },
        }

    def _submit(self, name: str, read: Callable[[], Any]) -> Future[Any]:
        """Run ``read`` on the pool, unless its last run is still waiting for an answer: then
        this snapshot waits on that one, so a hung source never piles up threads."""
        running = self._running.get(name)
        if running is not None and not running.done():
            return running
        future = self._pool.submit(read)
        self._running[name] = future
        return future

    def broker_service(self) -> str | None:
        if self.settings.broker_service:
            return self.settings.broker_service
        url = self.settings.broker_url
        return urlsplit(url).hostname if url else None

    def _queue_views(self, store: Store, policies: Sequence[ScalingPolicy]) -> list[dict[str, Any]]:
        names = {self.settings.orders_queue}
        for policy in policies:
            definition = policy.definition
            if isinstance(definition, TargetTrackingPolicy) and isinstance(
                definition.metric, QueueBacklogMetric
            ):
                names.add(definition.metric.queue_name)
        views = []
        for name in sorted(names):
            points = store.datapoints(QueueBacklogMetric(name).key, limit=WINDOW_PERIODS)
            views.append(
                {
                    "queue": name,
                    "series": _series(points),
                    "latest": points[0][1] if points else None,
                }
            )
        return views

    def _group_view(
        self,
        group: AutoScalingGroup,
        *,
        instances: Sequence[Instance],
        activities: Sequence[Activity],
        policies: Sequence[ScalingPolicy],
        store: Store,
        draining: frozenset[str],
        lifecycles: Mapping[str, InstanceLifecycle],
        now: float,
    ) -> dict[str, Any]:
        name = group.auto_scaling_group_name
        members = sorted(
            (i for i in instances if i.group == name), key=lambda i: (i.launched_at, i.instance_id)
        )
        rows = [
            {
                "instance_id": i.instance_id,
                "state": instance_state(i, draining),
                # AWS's lifecycle state (Pending:Wait, InService, Terminating:Wait, …), as
                # DescribeAutoScalingInstances answers it; None before the group records one.
                "lifecycle_state": (
                    lifecycles[i.instance_id].state.value if i.instance_id in lifecycles else None
                ),
                "health": i.health.value,
                "availability_zone": i.availability_zone,
                "lifecycle": i.lifecycle.value,
                "instance_type": i.instance_type,
                "protected": i.instance_id in group.protected_instance_ids,
                "launched_at": i.launched_at,
                "address": i.address,
                "host": i.host,
            }
            for i in members
        ]
        counts = collections.Counter(row["state"] for row in rows)
        live = [i for i in members if i.health is not Health.STOPPED]
        history = capacity_history(
            len(live),
            (a for a in activities if a.resource_id == name),
            now - WINDOW_PERIODS * PERIOD,
            now,
        )
        return {
            "name": name,
            "min_size": group.min_size,
            "max_size": group.max_size,
            "desired_capacity": group.desired_capacity,
            "counts": dict(counts),
            "spot": sum(1 for i in members if i.lifecycle.value == "spot"),
            "protected": sum(1 for row in rows if row["protected"]),
            "instances": rows,
            "placement": placement(members),
            "history": [[t, n] for t, n in history],
            "policies": [
                policy_view(
                    p,
                    store,
                    history,
                    (a for a in activities if a.resource_id == name),
                )
                for p in policies
                if p.auto_scaling_group_name == name
            ],
        }

    # The slow sources, each run on the pool with a deadline.

    def _traffic(self) -> dict[str, Any]:
        if self.sources.loadgen is None:
            return _error(self.sources.unset.get("traffic", "no load generator"))
        return self.sources.loadgen.status()

    def _ledger_counts(self) -> dict[str, Any]:
        """The ledger's counts, read between two reads of the orders queue's backlog, and the
        gap between what the ledger waits for and what the queue holds (see ``_lost``)."""
        if self.sources.ledger is None:
            return _error(self.sources.unset.get("ledger", "no ledger"))
        before = self._queued()
        summary = asdict(self.sources.ledger.summary())
        after = self._queued()
        wall = self.wall()
        if isinstance(before, int) and isinstance(after, int):
            self._gaps.append((wall, summary["in_flight"] - max(before, after)))
            summary["gap_reason"] = None
        else:
            summary["gap_reason"] = before if isinstance(before, str) else after
        while self._gaps and wall - self._gaps[0][0] > LOST_WINDOW:
            self._gaps.popleft()
        readings = self._ledger_readings
        readings.append((wall, summary["brewed"], summary["accepted"]))
        while readings and wall - readings[0][0] > RATE_HISTORY:
            readings.popleft()
        return summary

    def _queued(self) -> int | str:
        """The orders queue's backlog, or why it cannot be read."""
        if self.sources.broker is None:
            return self.sources.unset.get("broker", "no broker")
        try:
            return self.sources.broker.backlog(self.settings.orders_queue)
        except Exception as error:  # a broker restarting: no figure, and why
            return f"{type(error).__name__}: {error}"

    def _live_backlog(self) -> dict[str, Any]:
        if self.sources.broker is None:
            return _error(self.sources.unset.get("broker", "no broker"))
        queues = (self.settings.orders_queue, self.settings.dead_letter_queue)
        return {queue: self.sources.broker.backlog(queue) for queue in queues}

    def _scrape(self, instances: Sequence[Instance]) -> dict[str, Any]:
        """Each healthy barista's latency histogram, by address."""
        addresses = [
            i.address for i in instances if i.address is not None and i.health is Health.HEALTHY
        ]
        return {"histograms": scrape_latency(addresses, self.settings.instance_metrics_port)}

    def _latency(self, scrape: Mapping[str, Any]) -> dict[str, Any]:
        if "error" in scrape:
            return _error(f"the baristas' metrics: {scrape['error']}")
        scraped: dict[str, Buckets] = scrape["histograms"]
        if not scraped:
            return _error(
                "no barista reports an accepted→ready latency yet "
                f"(barista_order_latency_seconds on port {self.settings.instance_metrics_port})"
            )
        histograms, span = self._latency_window(scraped)
        merged = merge(histograms)
        if span >= MIN_LATENCY_SPAN:
            source = f"orders ready in the last {span:.0f} wall seconds"
        else:
            source = "orders ready since each live barista started"
        if merged.count <= 0:
            return _error(f"no order became ready: {source}")
        return {
            "orders": merged.count,
            "baristas": len(histograms),
            **{f"p{round(q * 100)}": merged.quantile(q) for q in PERCENTILES},
            "source": f"{source} (estimated within the histogram's buckets)",
        }

    def _latency_window(self, scraped: Mapping[str, Buckets]) -> tuple[list[Buckets], float]:
        """Each barista's observations over the last ``LATENCY_WINDOW`` wall seconds, and the
        span the readings cover (0 on the first one: then everything since it started)."""
        wall = self.wall()
        readings = self._latency_readings
        for gone in set(readings) - set(scraped):
            del readings[gone]
        for address, buckets in scraped.items():
            kept = readings.setdefault(address, collections.deque())
            kept.append((wall, buckets))
            while len(kept) > 1 and wall - kept[1][0] >= LATENCY_WINDOW:
                kept.popleft()
        span = max(wall - kept[0][0] for kept in readings.values())
        if span < MIN_LATENCY_SPAN:
            return list(scraped.values()), span
        return [
            buckets.since(readings[address][0][1]) for address, buckets in scraped.items()
        ], span

    def _subscribers(self) -> dict[str, Any]:
        """Each subscriber's ``/stats`` and whether its container runs (None: unknown)."""
        subscribers = self.sources.subscribers
        if not subscribers.links:
            return _error(self.sources.unset.get("subscribers", "no subscribers"))
        running: dict[str, bool | None] = {}
        check = getattr(self.context.runtime, "service_running", None)
        for name in subscribers.links:
            try:
                running[name] = check(name, self.settings.compose_project) if check else None
            except (LookupError, ValueError):
                running[name] = None
        return {"stats": subscribers.read(), "running": running}

    def _orders_per_barista(
        self,
        scrape: Mapping[str, Any],
        instances: Sequence[Instance],
        policies: Sequence[ScalingPolicy],
    ) -> dict[str, int]:
        """Orders each live barista made ready since it started, by instance id.

        The baristas are the instances of the groups scaled on the orders queue's backlog (the
        order counters serve the same metric with nothing in it); when no group is, any
        instance that made an order ready counts.
        """
        histograms: Mapping[str, Buckets] = scrape.get("histograms", {})
        groups = {
            policy.auto_scaling_group_name
            for policy in policies
            if isinstance(policy.definition, TargetTrackingPolicy)
            and isinstance(policy.definition.metric, QueueBacklogMetric)
            and policy.definition.metric.queue_name == self.settings.orders_queue
        }
        counts = {
            i.instance_id: round(histograms[i.address].count)
            for i in instances
            if i.address is not None
            and i.address in histograms
            and (i.group in groups or not groups)
        }
        return counts if groups else {key: n for key, n in counts.items() if n > 0}

    def _fanout(
        self,
        per_barista: Mapping[str, int],
        ledger: Mapping[str, Any],
        subscribers: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The queue and the topic side by side (``fanout.py``)."""
        queue = queue_view(per_barista, ledger, self.settings.orders_queue)
        if "error" in subscribers:
            return {"queue": queue, "topic": _error(subscribers["error"])}
        stats: Mapping[str, Mapping[str, Any]] = subscribers["stats"]
        topics = [s["topic"] for s in stats.values() if isinstance(s.get("topic"), str)]
        topic = topic_view(
            topics[0] if topics else "order-events",
            stats,
            subscribers["running"],
            ledger,
            self.sources.subscribers.baselines(),
        )
        return {"queue": queue, "topic": topic}

    def _target_health(self) -> dict[str, Any]:
        from orchestrator.api import elbv2  # noqa: PLC0415 - only when the page asks

        actions = elbv2.actions(self.context)
        groups = actions["DescribeTargetGroups"]({})["TargetGroups"]
        if not groups:
            return {"target_groups": [], "draining": []}
        views = []
        draining = []
        for target_group in groups:
            view: dict[str, Any] = {
                "name": target_group["TargetGroupName"],
                "port": target_group.get("Port"),
                "load_balancers": len(target_group.get("LoadBalancerArns", [])),
            }
            try:
                health = actions["DescribeTargetHealth"](
                    {"TargetGroupArn": target_group["TargetGroupArn"]}
                )["TargetHealthDescriptions"]
            except AwsError as error:
                view["error"] = error.message
                views.append(view)
                continue
            view["targets"] = [
                {
                    "id": item["Target"]["Id"],
                    "port": item["Target"]["Port"],
                    "state": item["TargetHealth"]["State"],
                    "reason": item["TargetHealth"].get("Reason"),
                }
                for item in health
            ]
            draining += [t["id"] for t in view["targets"] if t["state"] == "draining"]
            views.append(view)
        return {"target_groups": views, "draining": draining}

    # Derived figures.

    def _throughput(self, ledger: Mapping[str, Any]) -> dict[str, Any]:
        if "error" in ledger:
            return _error(f"needs the ledger: {ledger['error']}")
        readings = list(self._ledger_readings)
        rates = []
        start = 0
        for t1, brewed1, accepted1 in readings:
            # Each point is the rate over the last RATE_STEP seconds of readings: smoother than
            # second by second, where one brew more or less swings the figure.
            while t1 - readings[start][0] > RATE_STEP:
                start += 1
            t0, brewed0, accepted0 = readings[start]
            if t1 - t0 >= RATE_STEP / 2:
                dt = t1 - t0
                rates.append((t1, (brewed1 - brewed0) / dt, (accepted1 - accepted0) / dt))
        newest = readings[-1]
        oldest = next((r for r in readings if newest[0] - r[0] <= RATE_WINDOW), newest)
        span = newest[0] - oldest[0]
        if span < 1.0:
            return _error("measuring: the rate needs two ledger readings a second apart")
        return {
            "brewed_per_second": (newest[1] - oldest[1]) / span,
            "accepted_per_second": (newest[2] - oldest[2]) / span,
            "over_seconds": span,
            "series": [[t, brewed, accepted] for t, brewed, accepted in rates],
        }

    def _ledger_view(self, ledger: Mapping[str, Any]) -> dict[str, Any]:
        if "error" in ledger:
            return {"backend": self.backend, **ledger}
        view: dict[str, Any] = {"backend": self.backend, **ledger}
        reason = view.pop("gap_reason", None)
        gaps = list(self._gaps)
        if reason is not None:
            view["lost"] = None
            view["lost_reason"] = f"needs the orders queue's backlog: {reason}"
        elif len(gaps) < MIN_LOST_READINGS or gaps[-1][0] - gaps[0][0] < MIN_LOST_READINGS:
            view["lost"] = None
            view["lost_reason"] = "measuring: lost needs a few seconds of readings"
        else:
            view["lost"] = _lost(gaps)
        return view


def _lost(gaps: Sequence[tuple[float, int]]) -> int:
    """At most how many accepted orders are lost: the ledger waits for them (accepted, neither
    brewed nor dead-lettered) and the orders queue does not hold them (visible or in a
    barista's hands).

    The ledger and the queue cannot be read at one instant, so a single reading can be off by
    the orders that arrived or finished in between. A lost order stays lost, so the smallest
    gap of the last ``LOST_WINDOW`` seconds keeps every real loss and drops those races.
    """
    return max(0, min(gap for _, gap in gaps))


def _result(future: Future[Any], deadline: float) -> Any:
    """The source's answer by ``deadline`` (a ``time.monotonic`` instant), or why not."""
    try:
        return future.result(timeout=max(deadline - time.monotonic(), 0.0))
    except FutureTimeout:
        return _error(f"no answer within {SOURCE_DEADLINE:g} s")
    except SourceError as error:
        return _error(str(error))
    except Exception as error:
        return _error(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
