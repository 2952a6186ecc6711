"""The load balancer controller: keeps HAProxy serving what the store and the groups say.

Level-triggered, like the Auto Scaling controller. Each pass computes the desired data plane
(listeners, rules and target groups from the store; targets from registrations plus the
running instances of the Auto Scaling groups attached to each target group, minus those
deregistered) and compares it with what HAProxy reports over its runtime API. What differs is
a list of ``Difference`` values (``differences()`` shows them without acting), and a pass
applies them: a changed structure rewrites the configuration file and reloads HAProxy
hitlessly; a changed set of targets is applied live (add, re-address, drain, remove). Nothing
is remembered between passes except in the store, so after a restart of the orchestrator, or
of HAProxy (which then starts from the last written file), the next pass converges.

Deregistration is AWS's connection draining: the server stops taking new requests (HAProxy
maintenance: existing requests go on, cookie-sticky clients are balanced elsewhere) and is
removed when it has no current session or when ``deregistration_delay.timeout_seconds``
(compressed by the time scale) has passed since draining began.
"""

from __future__ import annotations

import logging
import threading
import time
import typing
from collections.abc import Callable, Collection, Iterable, Set
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from orchestrator.elb import health
from orchestrator.elb.haproxy_config import (
    HaproxyPaths,
    Server,
    backend_name,
    render,
    server_arguments,
    server_name,
    structure_hash,
)
from orchestrator.elb.haproxy_runtime import HaproxyCommandError, HaproxyRuntimeApi, ServerStatus
from orchestrator.elb.model import (
    Protocol,
    Target,
    TargetGroup,
    TargetHealthDescription,
    TargetHealthState,
    TargetType,
)
from orchestrator.elb.state import Deregistration, ElbStore
from orchestrator.elb.tls import ensure_localhost_certificate
from orchestrator.elb.topology import ElbTopology
from orchestrator.instances import Health, Instance
from orchestrator.loop import PerThread, run_passes
from orchestrator.runtime import Runtime
from orchestrator.time_scale import TimeScale

log = logging.getLogger(__name__)

CONFIG_FILE = "elb.cfg"  # HAProxy loads every *.cfg of the directory (start.sh)
STATE_FILE = "servers.state"
# Seconds past a deregistration delay after which a target counts as drained even if HAProxy
# never confirmed it: a pass or two of this controller.
DRAIN_SLACK = 1.0
CERTIFICATE_FILE = "certs/localhost.pem"


class DifferenceKind(StrEnum):
    WRITE_CONFIG = "write-config"  # the file differs; no reload needed for servers alone
    RELOAD = "reload"  # the running structure differs from the store's
    ADD_SERVER = "add-server"
    ACTIVATE = "activate"  # a server in maintenance that should take traffic
    SET_ADDRESS = "set-address"
    DRAIN = "drain"
    REMOVE_SERVER = "remove-server"
    FINISH_DRAIN = "finish-drain"  # draining is over: remove the server, record it


@dataclass(frozen=True)
class Difference:
    """One thing HAProxy does not yet reflect; ``detail`` says it for people."""

    kind: DifferenceKind
    detail: str
    target_group_arn: str | None = None
    server: Server | None = None
    target: Target | None = None


@dataclass(frozen=True)
class DesiredTarget:
    target_group: TargetGroup
    target: Target
    server: Server | None  # None while an instance target has no address yet
    deregistration: Deregistration | None = None

    @property
    def draining(self) -> bool:
        return self.deregistration is not None and not self.deregistration.drained


class LaunchHolds(typing.Protocol):
    """The instances their group's launch hooks hold out of service (no targets yet); Auto
    Scaling implements it (``orchestrator.asg.launch_holds``)."""

    def __call__(self) -> Collection[str]: ...

    def close(self) -> None: ...


class _NoLaunchHolds:
    def __call__(self) -> Collection[str]:
        return ()

    def close(self) -> None:
        return


class ElbController:
    """Reconciles HAProxy with the store; also the Auto Scaling controller's ELB hooks.

    ``config_dir`` is the host directory HAProxy reads at ``paths.directory``. One controller
    may be used from several threads (its own loop and the Auto Scaling controller's
    ``before_terminate``): each thread gets its own store connection, and passes are serialized.
    """

    def __init__(  # noqa: PLR0913 - the parts it reconciles, and how
        self,
        store_path: str | Path,
        runtime: Runtime,
        haproxy: HaproxyRuntimeApi,
        config_dir: Path,
        *,
        paths: HaproxyPaths | None = None,
        time_scale: TimeScale | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 0.05,
        launch_holds: LaunchHolds | None = None,
    ) -> None:
        self.store_path = Path(store_path)
        self.runtime = runtime
        self.haproxy = haproxy
        self.config_dir = config_dir
        self.paths = paths or HaproxyPaths()
        self.time_scale = time_scale or TimeScale()
        self.clock = clock
        self.poll_interval = poll_interval
        self._lock = threading.RLock()
        self._stores = PerThread(lambda: ElbStore(self.store_path), ElbStore.close)
        self.launch_holds = launch_holds or _NoLaunchHolds()

    @property
    def store(self) -> ElbStore:
        return self._stores.get()

    def close(self) -> None:
        """Close the calling thread's store connection (others close with their threads)."""
        self._stores.close()
        self.launch_holds.close()

    # Desired state.

    def desired_targets(self, topology: ElbTopology | None = None) -> list[DesiredTarget]:
        """Every target each group should have, including those still draining."""
        topology = topology or ElbTopology.read(self.store)
        store = self.store
        instances = {i.instance_id: i for i in self.runtime.instances()}
        attached: dict[str, list[str]] = {}
        for group, arns in store.attachments().items():
            for arn in arns:
                attached.setdefault(arn, []).append(group)
        held = self._held_by_launch_hooks()
        desired: list[DesiredTarget] = []
        for target_group in topology.target_groups:
            arn = target_group.target_group_arn
            from_groups = {
                Target(i.instance_id, target_group.port)
                for i in instances.values()
                if i.group in attached.get(arn, ())
                and i.health is not Health.STOPPED
                and i.instance_id not in held
            }
            registered = set(store.registered_targets(arn)) | from_groups
            leaving = {d.target: d for d in store.deregistrations(arn)}
            for target in sorted(registered | set(leaving), key=lambda t: (t.id, t.port or 0)):
                deregistration = leaving.get(target)
                if deregistration is not None and deregistration.drained:
                    continue
                desired.append(
                    DesiredTarget(
                        target_group,
                        target,
                        _server(target_group, target, instances),
                        deregistration,
                    )
                )
        return desired

    def _held_by_launch_hooks(self) -> set[str]:
        """Instances their group holds in Pending:Wait or Pending:Proceed: AWS registers an
        instance with its target groups only once its launch hooks let it in service."""
        return set(self.launch_holds())

    def _finished_tombstones(self) -> list[Deregistration]:
        """Drained deregistrations whose target is gone (instance terminated, or not an
        instance of an attached group): they no longer keep anything out."""
        store = self.store
        running = {i.instance_id: i for i in self.runtime.instances()}
        attachments = store.attachments()
        finished = []
        held = self._held_by_launch_hooks()
        for deregistration in store.deregistrations():
            if not deregistration.drained:
                continue
            instance = running.get(deregistration.target.id)
            still_attached = instance is not None and deregistration.target_group_arn in (
                attachments.get(instance.group, [])
            )
            # A drained instance its group holds (back in a warm pool) is no target either
            # way, and must be registered again when it returns to service.
            if not still_attached or deregistration.target.id in held:
                finished.append(deregistration)
        return finished

    # Differences.

    def differences(self) -> list[Difference]:
        """What HAProxy does not yet reflect, in the order a pass would apply it."""
        with self._lock:
            topology = ElbTopology.read(self.store)
            return self._differences(topology, self.desired_targets(topology))

    def _render(self, topology: ElbTopology, desired: list[DesiredTarget]) -> str:
        servers: dict[str, list[Server]] = {}
        for item in desired:
            if item.server is not None:
                servers.setdefault(item.target_group.target_group_arn, []).append(item.server)
        return render(topology, servers, paths=self.paths, time_scale=self.time_scale)

    def _differences(self, topology: ElbTopology, desired: list[DesiredTarget]) -> list[Difference]:
        found: list[Difference] = []
        config = self._render(topology, desired)
        config_file = self.config_dir / CONFIG_FILE
        if not config_file.exists() or config_file.read_text() != config:
            found.append(Difference(DifferenceKind.WRITE_CONFIG, f"rewrite {config_file}"))
        expected = structure_hash(topology, paths=self.paths, time_scale=self.time_scale)
        running = self.haproxy.config_version()
        if running != expected:
            found.append(
                Difference(DifferenceKind.RELOAD, f"running structure {running}, want {expected}")
            )
            return found  # server changes are computed against the reloaded structure
        actual = _servers_by_backend(self.haproxy.servers())
        now = self.clock()
        for target_group in topology.target_groups:
            backend = backend_name(target_group)
            arn = target_group.target_group_arn
            present = actual.get(backend, {})
            wanted = [d for d in desired if d.target_group.target_group_arn == arn]
            for item in wanted:
                found += self._target_differences(item, present.get(_name(item)), now)
            known = {_name(item) for item in wanted}
            for name, status in present.items():
                if name not in known:
                    found.append(
                        Difference(
                            DifferenceKind.REMOVE_SERVER,
                            f"{backend}/{name} is not a target of {target_group.target_group_name}",
                            arn,
                            Server(name, status.address, status.port),
                        )
                    )
        return found

    def _target_differences(
        self, item: DesiredTarget, status: ServerStatus | None, now: float
    ) -> list[Difference]:
        if item.deregistration is not None:
            return self._draining_differences(item, item.deregistration, status, now)
        arn = item.target_group.target_group_arn
        backend = backend_name(item.target_group)
        name = _name(item)
        if item.server is None:
            return []
        if status is None:
            return [
                Difference(
                    DifferenceKind.ADD_SERVER,
                    f"add {backend}/{name} at {item.server.address}:{item.server.port}",
                    arn,
                    item.server,
                )
            ]
        if status.state == "MAINT":
            return [
                Difference(
                    DifferenceKind.ACTIVATE,
                    f"activate {backend}/{name} as an initial target",
                    arn,
                    item.server,
                )
            ]
        if (status.address, status.port) != (item.server.address, item.server.port):
            return [
                Difference(
                    DifferenceKind.SET_ADDRESS,
                    f"{backend}/{name} moves to {item.server.address}:{item.server.port}",
                    arn,
                    item.server,
                )
            ]
        return []

    def _draining_differences(
        self,
        item: DesiredTarget,
        deregistration: Deregistration,
        status: ServerStatus | None,
        now: float,
    ) -> list[Difference]:
        arn = item.target_group.target_group_arn
        backend = backend_name(item.target_group)
        name = _name(item)
        if status is None:
            return [
                Difference(
                    DifferenceKind.FINISH_DRAIN,
                    f"{backend}/{name} is gone",
                    arn,
                    target=item.target,
                )
            ]
        delay = self.time_scale.scaled(
            item.target_group.attributes.deregistration_delay_timeout_seconds
        )
        server = Server(name, status.address, status.port)
        if status.state == "MAINT" and (
            status.current_sessions == 0 or now - deregistration.started_at >= delay
        ):
            return [
                Difference(
                    DifferenceKind.FINISH_DRAIN,
                    f"{backend}/{name} drained ({status.current_sessions} sessions left)",
                    arn,
                    server,
                    item.target,
                )
            ]
        if status.state != "MAINT":
            return [Difference(DifferenceKind.DRAIN, f"drain {backend}/{name}", arn, server)]
        return []

    # Applying them.

    def reconcile_once(self) -> list[Difference]:
        """One pass: apply every difference; returns what was applied. Safe to repeat."""
        with self._lock:
            store = self.store
            topology = ElbTopology.read(store)
            for finished in self._finished_tombstones():
                store.forget_deregistration(finished.target_group_arn, finished.target)
            if any(item.protocol in (Protocol.HTTPS, Protocol.TLS) for item in topology.listeners):
                ensure_localhost_certificate(self.config_dir / CERTIFICATE_FILE)
            desired = self.desired_targets(topology)
            applied: list[Difference] = []
            found = self._differences(topology, desired)
            kinds = {d.kind for d in found}
            if DifferenceKind.WRITE_CONFIG in kinds or DifferenceKind.RELOAD in kinds:
                self._write(self._render(topology, desired))
                applied += [d for d in found if d.kind is DifferenceKind.WRITE_CONFIG]
            if DifferenceKind.RELOAD in kinds:
                self._reload()
                applied += [d for d in found if d.kind is DifferenceKind.RELOAD]
                found = self._differences(topology, desired)
            for difference in found:
                if difference.kind not in (DifferenceKind.WRITE_CONFIG, DifferenceKind.RELOAD):
                    self._apply(difference, topology)
                    applied.append(difference)
            return applied

    def _write(self, config: str) -> None:
        _write_atomically(self.config_dir / CONFIG_FILE, config)

    def _reload(self) -> None:
        # The new worker restores each server's health, drain state and weight from this dump.
        _write_atomically(self.config_dir / STATE_FILE, self.haproxy.server_state())
        self.haproxy.reload()
        log.info("haproxy reloaded")

    def _apply(self, difference: Difference, topology: ElbTopology) -> None:
        arn = difference.target_group_arn
        assert arn is not None
        target_group = topology.target_groups_by_arn[arn]
        backend = backend_name(target_group)
        server = difference.server
        if difference.kind is DifferenceKind.FINISH_DRAIN:
            if server is not None:
                self.haproxy.remove_server(backend, server.name)
            assert difference.target is not None
            self.store.mark_drained(arn, difference.target)
            return
        assert server is not None
        if difference.kind is DifferenceKind.ADD_SERVER:
            arguments = server_arguments(target_group, self.time_scale)
            self.haproxy.add_server(backend, server.name, server.address, server.port, arguments)
        elif difference.kind is DifferenceKind.ACTIVATE:
            checked = target_group.health_check.enabled
            self.haproxy.activate(backend, server.name, checked=checked)
        elif difference.kind is DifferenceKind.SET_ADDRESS:
            self.haproxy.set_address(backend, server.name, server.address, server.port)
        elif difference.kind is DifferenceKind.DRAIN:
            # Maintenance, not HAProxy's DRAIN: AWS sends a draining target no new request,
            # not even a cookie-sticky one; in-flight requests still complete.
            self.haproxy.execute(f"set server {backend}/{server.name} state maint")
        elif difference.kind is DifferenceKind.REMOVE_SERVER:
            self.haproxy.remove_server(backend, server.name)
        log.info("applied", extra={"difference": difference.detail})

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        """Reconcile every ``interval`` seconds until ``stopping`` is set."""
        run_passes(self.reconcile_once, stopping, interval, "elb reconcile")

    # Reading health.

    def describe_target_health(
        self, target_group_arn: str, targets: Iterable[Target] | None = None
    ) -> list[TargetHealthDescription]:
        """AWS's DescribeTargetHealth: every target of the group, or the ones asked about."""
        with self._lock:
            topology = ElbTopology.read(self.store)
            target_group = topology.target_groups_by_arn[target_group_arn]
            desired = [
                d
                for d in self.desired_targets(topology)
                if d.target_group.target_group_arn == target_group_arn
            ]
            statuses = _servers_by_backend(self.haproxy.servers()).get(
                backend_name(target_group), {}
            )
        in_use = target_group_arn in topology.target_groups_in_use()
        by_target = {d.target: d for d in desired}
        asked = list(targets) if targets is not None else list(by_target)
        check_port = target_group.health_check.port
        descriptions = []
        for target in asked:
            resolved = Target(target.id, target.port or target_group.port)
            item = by_target.get(resolved)
            port = str(resolved.port) if check_port == "traffic-port" else check_port
            if item is None:
                state = health.NOT_REGISTERED
            elif item.draining:
                state = health.DRAINING
            elif not in_use:
                state = health.NOT_IN_USE
            else:
                status = statuses.get(_name(item))
                state = (
                    health.REGISTERING
                    if status is None
                    else health.target_health(
                        status, checks_enabled=target_group.health_check.enabled
                    )
                )
            descriptions.append(TargetHealthDescription(resolved, port, state))
        return descriptions

    # The Auto Scaling controller's hooks.

    def elb_unhealthy(self, group_name: str) -> Set[str]:
        """Instance ids of ``group_name`` some attached target group reports unhealthy.

        While HAProxy does not answer nothing is reported: health nobody measured is not
        ill health, and replacing every instance because the load balancer is down would
        make an outage worse.
        """
        failing: set[str] = set()
        members = {i.instance_id for i in self.runtime.instances(group_name)}
        for arn in self.store.attachments().get(group_name, []):
            try:
                descriptions = self.describe_target_health(arn)
            except (OSError, HaproxyCommandError):
                log.warning("target health unknown: haproxy does not answer", exc_info=True)
                return set()
            for description in descriptions:
                if (
                    description.target.id in members
                    and description.target_health.state is TargetHealthState.UNHEALTHY
                ):
                    failing.add(description.target.id)
        return failing

    def before_terminate(self, group_name: str, instance_id: str) -> None:
        """Deregister the instance from the group's target groups; return once drained.

        Draining is over for a target group when the server has no current session or its
        deregistration delay has passed; the wait is bounded by the longest delay, also when
        HAProxy does not answer (as AWS terminates after the delay whatever the load balancer
        says), so a scale-in never hangs on the load balancer. ECS stops tasks this way; the
        Auto Scaling controller uses :meth:`begin_drain` and :meth:`drained` instead, so that
        it never waits.
        """
        self.begin_drain(group_name, instance_id)
        waiting = threading.Event()
        while True:
            try:
                self.reconcile_once()
            except (OSError, HaproxyCommandError):
                log.warning("draining %s: haproxy does not answer", instance_id, exc_info=True)
            if self.drained(group_name, instance_id):
                return
            waiting.wait(self.poll_interval)

    def begin_drain(self, group_name: str, instance_id: str) -> None:
        """Deregister the instance from its group's target groups and return at once; this
        controller's own passes drain it. Idempotent: draining keeps its first start time."""
        store = self.store
        now = self.clock()
        groups = ElbTopology.read(store).target_groups_by_arn
        for arn in store.attachments().get(group_name, []):
            target_group = groups.get(arn)
            if target_group is not None:
                store.deregister_targets(arn, [Target(instance_id, target_group.port)], now)

    def drained(self, group_name: str, instance_id: str) -> bool:
        """No target group routes to the instance any more: each deregistration has finished
        draining, or has outlived its deregistration delay (plus a pass) even if HAProxy never
        answered, as AWS terminates after the delay whatever the load balancer says."""
        store = self.store
        now = self.clock()
        groups = ElbTopology.read(store).target_groups_by_arn
        for arn in store.attachments().get(group_name, []):
            target_group = groups.get(arn)
            for deregistration in store.deregistrations(arn):
                if deregistration.target.id != instance_id or deregistration.drained:
                    continue
                delay = 0.0
                if target_group is not None:
                    delay = self.time_scale.scaled(
                        target_group.attributes.deregistration_delay_timeout_seconds
                    )
                if now - deregistration.started_at <= delay + DRAIN_SLACK:
                    return False
        return True

    def detach_target_groups(self, group_name: str, target_group_arns: list[str]) -> None:
        """DetachLoadBalancerTargetGroups: the group's running instances are deregistered
        (so they drain, as AWS does) and the attachment goes."""
        store = self.store
        now = self.clock()
        groups = ElbTopology.read(store).target_groups_by_arn
        running = [
            i.instance_id
            for i in self.runtime.instances(group_name)
            if i.health is not Health.STOPPED
        ]
        for arn in target_group_arns:
            target_group = groups.get(arn)
            if target_group is not None and running:
                store.deregister_targets(arn, [Target(i, target_group.port) for i in running], now)
        store.detach_target_groups(group_name, target_group_arns)


def _server(
    target_group: TargetGroup, target: Target, instances: dict[str, Instance]
) -> Server | None:
    port = target.port or target_group.port
    if target_group.target_type is TargetType.IP:
        address: str | None = target.id
    else:
        instance = instances.get(target.id)
        address = instance.address if instance is not None else None
    if address is None:
        return None
    return Server(server_name(target.id, port), address, port)


def _server_name(target: Target, target_group: TargetGroup) -> str:
    return server_name(target.id, target.port or target_group.port)


def _name(item: DesiredTarget) -> str:
    return _server_name(item.target, item.target_group)


def _servers_by_backend(servers: list[ServerStatus]) -> dict[str, dict[str, ServerStatus]]:
    by_backend: dict[str, dict[str, ServerStatus]] = {}
    for status in servers:
        by_backend.setdefault(status.backend, {})[status.name] = status
    return by_backend


def _write_atomically(path: Path, text: str) -> None:
    """Write next to the file, then rename: a reload never reads half a file. The temporary
    name does not end in .cfg, so HAProxy's directory load never picks it up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.chmod(0o644)
    partial.replace(path)
