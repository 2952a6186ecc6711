"""The ECS controller: a level-triggered loop over task records, services and Docker.

Each pass reads the store (task records, services, task definitions, container instances)
and Docker (task containers by label), then:

1. observes: each live task's last status and health from its containers; an essential
   container that exited stops the task ("Essential container in task exited"); a service
   task whose essential container fails its health check is stopped ("Task failed container
   health checks");
2. schedules services: ``plan_service`` decides tasks to start and stop (rolling deployment,
   circuit breaker, rollback); new tasks are recorded as PROVISIONING;
3. acts on tasks: places PROVISIONING tasks (EC2: ``place`` on container instances; a task
   that fits nowhere stays PROVISIONING with the reason, and its service gets the event),
   starts them (placement one by one, the containers' starts up to ``start_workers`` tasks
   at once), registers RUNNING service tasks with their target groups, and stops tasks
   whose desired status is STOPPED: DEACTIVATING (deregistered, draining) → STOPPING →
   STOPPED, keeping exit codes and the stop reason;
4. removes containers no live task record owns.

Nothing is remembered between passes but the store, and every step is idempotent: a task id
is recorded before its containers start, and the runtime refuses a second start of it.

Time: every timestamp is the control plane's clock (``clock``, scaled). A container health
check's ``interval`` is the detection cadence and is compressed (AWS seconds / ``time_scale``
wall seconds); its ``timeout`` and ``startPeriod`` bound real work (the check command running,
the application booting) and stay real seconds, like stopTimeout: a compressed boot grace
would fail on a busy machine tasks AWS would keep.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from orchestrator.ecs.capacity import (
    AsgCapacity,
    container_instances_of,
    managed_scaling_desired,
    scaling_cause,
)
from orchestrator.ecs.deployment import plan_service
from orchestrator.ecs.hosts import HOST_ATTRIBUTE, host_changes, host_down_reason
from orchestrator.ecs.load_balancing import TargetRegistry
from orchestrator.ecs.model import (
    CapacityProvider,
    ContainerInstance,
    ContainerRecord,
    HealthStatus,
    LaunchType,
    PlacementConstraint,
    Service,
    ServiceEvent,
    StopCode,
    Task,
    TaskStatus,
)
from orchestrator.ecs.placement import Load, place, with_task
from orchestrator.ecs.state import EcsStore
from orchestrator.ecs.task_definition import ContainerDefinition, TaskDefinition
from orchestrator.instances import Health
from orchestrator.loop import PerThread, in_order, run_passes
from orchestrator.runtime.hosts import TaskHosts
from orchestrator.runtime.images import ImageNotAllowed
from orchestrator.runtime.tasks import (
    ContainerSpec,
    DockerHealthCheck,
    TaskContainer,
    TaskIdInUse,
    TaskRuntime,
    TaskSpec,
)
from orchestrator.time_scale import TimeScale

log = logging.getLogger(__name__)

GROUP_ATTRIBUTE = "barista:auto-scaling-group"
FARGATE_ZONES = ("az-a", "az-b", "az-c")
# docs/aws-defaults.md: a task with no essential-container health check (and no load balancer)
# counts healthy 40 s after RUNNING.
NO_HEALTH_CHECK_HEALTHY_AFTER = 40.0
STOPPED_TASK_RETENTION = 3600.0  # ECS shows a stopped task for about an hour


def new_task_id() -> str:
    return uuid.uuid4().hex


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randrange(10**18, 10**19)}"  # noqa: S311 - an id, not a secret


def steady_message(service: str) -> str:
    return f"(service {service}) has reached a steady state."


class EcsController:
    """Reconciles ECS tasks and services with Docker; ``reconcile_once`` is one pass.

    ``store_path`` is the shared SQLite file (each thread opens its own connection);
    ``targets`` registers service tasks with target groups (``ElbTargetRegistry``);
    ``network`` is the Docker network task containers join (None: the default bridge);
    ``capacity`` connects EC2 Auto Scaling for capacity providers (``StoreAsgCapacity``);
    ``start_workers`` bounds the tasks a pass starts at once (``orchestrator.loop.in_order``).
    """

    def __init__(
        self,
        store_path: str | Path,
        tasks: TaskRuntime,
        *,
        clock: Callable[[], float] = time.time,
        time_scale: TimeScale | None = None,
        targets: TargetRegistry | None = None,
        network: str | None = None,
        capacity: AsgCapacity | None = None,
        start_workers: int = 1,
    ) -> None:
        self.store_path = Path(store_path)
        # Tasks one pass starts at once (the orchestrator: START_CONCURRENCY); one, the
        # default, starts them on the calling thread in order, as tests want.
        self.start_workers = start_workers
        self.runtime = tasks
        self.clock = clock
        self.time_scale = time_scale or TimeScale()
        self.targets = targets
        self.network = network
        self.capacity = capacity
        self._stores = PerThread(lambda: EcsStore(self.store_path), EcsStore.close)
        self._lock = threading.RLock()

    @property
    def store(self) -> EcsStore:
        return self._stores.get()

    def close(self) -> None:
        self._stores.close()

    def reconcile_once(self) -> None:
        """One pass; safe to repeat and to interrupt."""
        with self._lock:
            now = self.clock()
            containers: dict[str, list[TaskContainer]] = {}
            for container in self.runtime.task_containers():
                containers.setdefault(container.task_id, []).append(container)
            self._sync_capacity(now)
            self._sync_hosts(now)
            for task in self.store.tasks(stopped=False):
                self._observe(task, containers.get(task.task_id, []), now)
            for service in self.store.services():
                if service.status != "INACTIVE":
                    self._schedule(service, now)
            starts: list[_Start] = []
            for task in self.store.tasks(stopped=False):
                start = self._act(task, containers.get(task.task_id, []), now)
                if start is not None:
                    starts.append(start)
            self._start_all(starts, now)
            self._managed_scaling(now)
            live = {t.task_id for t in self.store.tasks(stopped=False)}
            for task_id in set(containers) - live:
                log.info("removing containers of unknown or stopped task %s", task_id)
                self.runtime.stop_task(task_id)
            self.store.forget_stopped_tasks(now - STOPPED_TASK_RETENTION)

    def run(self, stopping: threading.Event, interval: float = 1.0) -> None:
        run_passes(self.reconcile_once, stopping, interval, "ecs reconcile")

    # 0. Capacity providers.

    def _providers(self) -> list[tuple[str, CapacityProvider]]:
        providers = self.store.capacity_providers()
        return [
            (cluster.name, providers[name])
            for cluster in self.store.clusters().values()
            if cluster.status == "ACTIVE"
            for name in cluster.capacity_providers
            if name in providers
        ]

    def _sync_capacity(self, now: float) -> None:
        """Container instances follow the capacity providers' Auto Scaling groups."""
        if self.capacity is None:
            return
        for cluster, provider in self._providers():
            group = provider.auto_scaling_group_name
            resources = self.capacity.resources(group)
            wanted = {
                i.instance_id: dataclasses.replace(i, attributes=((GROUP_ATTRIBUTE, group),))
                for i in container_instances_of(
                    cluster, self.capacity.instances(group), resources, now
                )
            }
            existing = {
                i.instance_id: i
                for i in self.store.container_instances(cluster)
                if i.attribute(GROUP_ATTRIBUTE) == group
            }
            for instance_id, instance in wanted.items():
                if instance_id not in existing:
                    self.store.put_container_instance(instance)
            for instance_id, instance in existing.items():
                if instance_id in wanted:
                    continue
                self.store.delete_container_instance(instance_id)
                for task in self.store.tasks(cluster=cluster, stopped=False):
                    if task.container_instance == instance_id:
                        self._request_stop(
                            task,
                            now,
                            f"Host EC2 (instance {instance.ec2_instance_id}) terminated.",
                        )

    def _sync_hosts(self, now: float) -> None:
        """Container instances follow the runtime's machines (ecs/hosts.py), if it has any."""
        if not isinstance(self.runtime, TaskHosts):
            return
        clusters = [c.name for c in self.store.clusters().values() if c.status == "ACTIVE"]
        changes = host_changes(
            self.runtime.hosts(), self.store.container_instances(), clusters, now
        )
        for instance in changes.put:
            self.store.put_container_instance(instance)
        for instance in changes.deregister:
            self.store.delete_container_instance(instance.instance_id)
            for task in self.store.tasks(cluster=instance.cluster, stopped=False):
                if task.container_instance == instance.instance_id:
                    self._request_stop(task, now, host_down_reason(instance))

    def _managed_scaling(self, now: float) -> None:
        """Grow a provider's group while EC2 tasks wait in PROVISIONING."""
        if self.capacity is None:
            return
        for cluster, provider in self._providers():
            group = provider.auto_scaling_group_name
            sizes = self.capacity.desired(group)
            if sizes is None:
                continue
            waiting = []
            for task in self.store.tasks(cluster=cluster, stopped=False):
                if (
                    task.launch_type is LaunchType.EC2
                    and not task.launched
                    and task.desired_status is TaskStatus.RUNNING
                    and task.placement_reason
                ):
                    definition = self._definition(task.task_definition)
                    waiting.append((definition.required_cpu, definition.required_memory))
            desired, max_size = sizes
            new = managed_scaling_desired(
                provider,
                instances=len(self.capacity.instances(group)),
                desired_capacity=desired,
                max_size=max_size,
                waiting=waiting,
                instance_resources=self.capacity.resources(group),
            )
            if new is not None:
                self.capacity.raise_desired(group, new, scaling_cause(provider, desired, new, now))
                log.info("managed scaling: %s desired %d -> %d", group, desired, new)

    # 1. Observe.

    def _observe(self, task: Task, containers: list[TaskContainer], now: float) -> None:
        if task.desired_status is TaskStatus.STOPPED or not task.launched:
            if containers:
                task = dataclasses.replace(task, containers=_records(containers))
                self.store.put_task(task)
            return
        if not containers:
            # Launched, and now gone: removed behind the orchestrator's back.
            self.store.put_task(
                dataclasses.replace(
                    task,
                    desired_status=TaskStatus.STOPPED,
                    last_status=TaskStatus.STOPPED,
                    stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED,
                    stopped_reason="Essential container in task exited",
                    stopping_at=task.stopping_at or now,
                    stopped_at=now,
                )
            )
            return
        records = _records(containers)
        exited = [c for c in containers if c.essential and c.exited]
        if exited:
            self.store.put_task(
                dataclasses.replace(
                    task,
                    containers=records,
                    desired_status=TaskStatus.STOPPED,
                    stop_code=StopCode.ESSENTIAL_CONTAINER_EXITED,
                    stopped_reason="Essential container in task exited",
                    stopping_at=now,
                )
            )
            return
        if not all(c.running for c in containers if c.essential):
            self.store.put_task(
                dataclasses.replace(task, containers=records, last_status=TaskStatus.PENDING)
            )
            return
        address = next((c.address for c in containers if c.address), None)
        checked = [c for c in containers if c.essential and c.health is not None]
        if any(c.health is Health.UNHEALTHY for c in checked):
            health = HealthStatus.UNHEALTHY
        elif checked and all(c.health is Health.HEALTHY for c in checked):
            health = HealthStatus.HEALTHY
        else:
            health = HealthStatus.UNKNOWN
        task = dataclasses.replace(
            task,
            containers=records,
            last_status=TaskStatus.RUNNING,
            started_at=task.started_at or now,
            health_status=health,
            address=address,
        )
        failing = self._failing_target_group(task)
        if health is HealthStatus.UNHEALTHY and self._past_grace(task, now):
            task = dataclasses.replace(
                task,
                desired_status=TaskStatus.STOPPED,
                stop_code=StopCode.SERVICE_SCHEDULER_INITIATED,
                stopped_reason="Task failed container health checks",
                stopping_at=now,
            )
        elif failing is not None and self._past_grace(task, now):
            task = dataclasses.replace(
                task,
                desired_status=TaskStatus.STOPPED,
                stop_code=StopCode.SERVICE_SCHEDULER_INITIATED,
                stopped_reason=f"Task failed ELB health checks in (target-group {failing})",
                stopping_at=now,
            )
        elif task.healthy_at is None and self._counts_healthy(task, bool(checked), now):
            task = dataclasses.replace(task, healthy_at=now)
        self.store.put_task(task)

    def _failing_target_group(self, task: Task) -> str | None:
        """The first target group that reports the task's target unhealthy, if any."""
        if self.targets is None:
            return None
        for target in task.registered_targets:
            if self.targets.unhealthy(*target):
                return target[0]
        return None

    def _past_grace(self, task: Task, now: float) -> bool:
        """A service task's health counts once healthCheckGracePeriodSeconds have passed
        since it started; a standalone task is never stopped for its health."""
        if task.service is None:
            return False
        service = self.store.service(task.cluster, task.service)
        grace = service.health_check_grace_period_seconds if service is not None else 0
        return task.started_at is None or now - task.started_at >= grace

    def _counts_healthy(self, task: Task, has_health_check: bool, now: float) -> bool:
        """Healthy for a deployment: its container health checks pass and every target group
        it is registered with says healthy; with neither, once it has been RUNNING for
        ``NO_HEALTH_CHECK_HEALTHY_AFTER`` seconds (a task that exits at once never is)."""
        if has_health_check and task.health_status is not HealthStatus.HEALTHY:
            return False
        service = self.store.service(task.cluster, task.service) if task.service else None
        if service is not None and service.load_balancers:
            if not task.registered_targets or self.targets is None:
                return False
            return all(self.targets.healthy(*target) for target in task.registered_targets)
        if has_health_check:
            return True
        started = task.started_at if task.started_at is not None else now
        return now - started >= NO_HEALTH_CHECK_HEALTHY_AFTER

    # 2. Schedule services.

    def _schedule(self, service: Service, now: float) -> None:
        tasks = self.store.tasks(cluster=service.cluster, service=service.name)
        if service.status == "DRAINING":
            live = [t for t in tasks if t.desired_status is TaskStatus.RUNNING]
            for task in live:
                self._request_stop(task, now, "Service is being deleted")
            if not [t for t in tasks if t.last_status is not TaskStatus.STOPPED]:
                self.store.put_service(dataclasses.replace(service, status="INACTIVE"))
            return
        decided = plan_service(service, tasks, now)
        started = []
        for _ in range(decided.start):
            primary = next(d for d in decided.deployments if d.status == "PRIMARY")
            task = Task(
                task_id=new_task_id(),
                cluster=service.cluster,
                task_definition=primary.task_definition,
                launch_type=service.launch_type,
                created_at=now,
                group=f"service:{service.name}",
                started_by=primary.deployment_id,
                service=service.name,
                deployment_id=primary.deployment_id,
            )
            self.store.put_task(task)
            started.append(task.task_id)
        for task in decided.stop:
            self._request_stop(
                task,
                now,
                f"Scaling activity initiated by (deployment {task.deployment_id})",
                StopCode.SERVICE_SCHEDULER_INITIATED,
            )
        if decided.events or decided.task_definition != service.task_definition:
            current = self.store.service(service.cluster, service.name) or service
            self.store.put_service(
                dataclasses.replace(
                    current,
                    deployments=decided.deployments,
                    task_definition=decided.task_definition,
                )
            )
        messages = list(decided.events)
        if started:
            messages.append(
                f"(service {service.name}) has started {len(started)} tasks: "
                + " ".join(f"(task {t})" for t in started)
                + "."
            )
        if decided.stop:
            messages.append(
                f"(service {service.name}) has stopped {len(decided.stop)} running tasks: "
                + " ".join(f"(task {t.task_id})" for t in decided.stop)
                + "."
            )
        for message in messages:
            self._event(service, message, now)
        if decided.steady and not messages:
            latest = self.store.events(service.cluster, service.name, limit=1)
            if not latest or latest[0].message != steady_message(service.name):
                self._event(service, steady_message(service.name), now)

    def _event(self, service: Service, message: str, now: float) -> None:
        self.store.record_event(
            service.cluster, service.name, ServiceEvent(str(uuid.uuid4()), now, message)
        )
        log.info("%s", message)

    def _request_stop(
        self,
        task: Task,
        now: float,
        reason: str,
        code: StopCode = StopCode.SERVICE_SCHEDULER_INITIATED,
    ) -> None:
        current = self.store.task(task.task_id) or task
        if current.desired_status is TaskStatus.STOPPED:
            return
        self.store.put_task(
            dataclasses.replace(
                current,
                desired_status=TaskStatus.STOPPED,
                stop_code=code,
                stopped_reason=reason,
                stopping_at=now,
            )
        )

    # 3. Act on tasks.

    def _act(self, task: Task, containers: list[TaskContainer], now: float) -> _Start | None:
        """Move the task on; a task placed to start is returned, for ``_start_all``."""
        if task.desired_status is TaskStatus.STOPPED:
            self._stop(task, now)
        elif not task.launched:
            return self._launch(task, now)
        elif task.last_status is TaskStatus.RUNNING and task.address:
            self._register(task)
        return None

    def _launch(self, task: Task, now: float) -> _Start | None:
        """Place the task and record it PENDING; its containers are started by
        ``_start_all``. Placement stays one task at a time: each sees the ones before it."""
        definition = self._definition(task.task_definition)
        service = self.store.service(task.cluster, task.service) if task.service else None
        zone = None
        instance_id = None
        if task.launch_type is LaunchType.EC2:
            placed = self._place(task, definition, service)
            if placed.instance is None:
                reason = placed.reason
                if task.placement_reason != reason:
                    self.store.put_task(
                        dataclasses.replace(
                            task, placement_reason=reason, last_status=TaskStatus.PROVISIONING
                        )
                    )
                if service is not None:
                    message = (
                        f"(service {service.name}) was unable to place a task because {reason}"
                    )
                    latest = self.store.events(service.cluster, service.name, limit=1)
                    if not latest or latest[0].message != message:
                        self._event(service, message, now)
                return None
            zone = placed.instance.availability_zone
            instance_id = placed.instance.instance_id
        else:
            zone = self._fargate_zone(task)
        task = dataclasses.replace(
            task,
            container_instance=instance_id,
            availability_zone=zone,
            placement_reason=None,
            last_status=TaskStatus.PENDING,
            launched=True,
        )
        # Recorded before starting: a controller killed mid-start finds the containers (or
        # their absence: stopped, and the service replaces it) on its next pass.
        self.store.put_task(task)
        return _Start(task, self._spec(task, definition))

    def _start_all(self, starts: Sequence[_Start], now: float) -> None:
        """Start the placed tasks' containers, up to ``start_workers`` tasks at once (each
        task's containers in their start order); a task that fails to start is stopped with
        ECS's reason, and the others start regardless."""

        def start(placed: _Start) -> Exception | None:
            try:
                self.runtime.start_task(placed.spec)
            except Exception as error:  # recorded below, on the store's thread
                return error
            return None

        for placed, error in zip(starts, in_order(start, starts, self.start_workers), strict=True):
            if error is None or isinstance(error, TaskIdInUse):
                continue
            task = placed.task
            log.warning("task %s failed to start: %s", task.task_id, error)
            # ECS's name for an image it cannot get; anything else failed at start.
            kind = (
                "CannotPullContainerError"
                if isinstance(error, ImageNotAllowed)
                else "CannotStartContainerError"
            )
            self.store.put_task(
                dataclasses.replace(
                    task,
                    desired_status=TaskStatus.STOPPED,
                    stop_code=StopCode.TASK_FAILED_TO_START,
                    stopped_reason=f"{kind}: {error}"[:255],
                    stopping_at=now,
                )
            )

    def _place(self, task: Task, definition: TaskDefinition, service: Service | None) -> _Placed:
        instances = self.store.container_instances(task.cluster)
        loads: dict[str, Load] = {}
        for other in self.store.tasks(cluster=task.cluster, stopped=False):
            if other.container_instance is None or other.task_id == task.task_id:
                continue
            other_definition = self._definition(other.task_definition)
            loads[other.container_instance] = with_task(
                loads.get(other.container_instance, Load()),
                other_definition.required_cpu,
                other_definition.required_memory,
                other.group,
            )
        strategies = service.placement_strategy if service is not None else ()
        constraints = list(service.placement_constraints) if service is not None else []
        constraints += [PlacementConstraint(t, e) for t, e in definition.placement_constraints]
        result = place(
            definition.required_cpu,
            definition.required_memory,
            task.group,
            instances,
            loads,
            strategies=strategies,
            constraints=constraints,
            seed=task.task_id,
        )
        return _Placed(result.instance, result.reason)

    def _fargate_zone(self, task: Task) -> str:
        zones: tuple[str, ...] = FARGATE_ZONES
        if isinstance(self.runtime, TaskHosts):
            # Only zones with a machine that takes tasks: AWS runs Fargate where it can.
            up = {h.availability_zone for h in self.runtime.hosts() if h.schedulable}
            zones = tuple(z for z in FARGATE_ZONES if z in up) or FARGATE_ZONES
        counts = dict.fromkeys(zones, 0)
        for other in self.store.tasks(cluster=task.cluster, stopped=False):
            if other.group == task.group and other.availability_zone in counts:
                counts[other.availability_zone] += 1
        return min(zones, key=lambda zone: (counts[zone], zone))

    def _definition(self, family_revision: str) -> TaskDefinition:
        family, _, revision = family_revision.rpartition(":")
        return self.store.task_definition(family, int(revision))

    def _spec(self, task: Task, definition: TaskDefinition) -> TaskSpec:
        scale = self.time_scale
        containers = []
        for container in start_order(definition):
            check = container.health_check
            cpu_units = container.cpu or (definition.cpu or 0)
            containers.append(
                ContainerSpec(
                    name=container.name,
                    image=container.image,
                    command=container.command,
                    entry_point=container.entry_point,
                    environment=dict(container.environment),
                    cpus=cpu_units / 1024 if cpu_units else None,
                    memory_mib=container.memory or definition.memory,
                    memory_reservation_mib=container.memory_reservation,
                    essential=container.essential,
                    health_check=DockerHealthCheck(
                        test=check.command,
                        interval=scale.scaled(check.interval),
                        timeout=float(check.timeout),
                        retries=check.retries,
                        start_period=float(check.start_period),
                    )
                    if check is not None
                    else None,
                    stop_timeout=float(container.stop_timeout or 30),
                    working_dir=container.working_dir,
                    user=container.user,
                )
            )
        return TaskSpec(
            task_id=task.task_id,
            cluster=task.cluster,
            task_definition=task.task_definition,
            group=task.group,
            containers=tuple(containers),
            created_at=task.created_at,
            service=task.service,
            deployment_id=task.deployment_id,
            availability_zone=task.availability_zone or "",
            container_instance=task.container_instance,
            network=self.network,
            host=self._host_of(task),
        )

    def _host_of(self, task: Task) -> str | None:
        """The machine of the task's container instance, when it is one (ecs/hosts.py)."""
        if task.container_instance is None:
            return None
        for instance in self.store.container_instances(task.cluster):
            if instance.instance_id == task.container_instance:
                return instance.attribute(HOST_ATTRIBUTE)
        return None

    def _register(self, task: Task) -> None:
        if task.registered_targets or task.service is None or self.targets is None:
            return
        service = self.store.service(task.cluster, task.service)
        if service is None or not service.load_balancers or task.address is None:
            return
        registered = []
        for balancer in service.load_balancers:
            target = (balancer.target_group_arn, task.address, balancer.container_port)
            self.targets.register(*target)
            registered.append(target)
        self.store.put_task(dataclasses.replace(task, registered_targets=tuple(registered)))

    def _stop(self, task: Task, now: float) -> None:
        if task.registered_targets and self.targets is not None:
            if task.last_status is not TaskStatus.DEACTIVATING:
                for target in task.registered_targets:
                    self.targets.deregister(*target)
                task = dataclasses.replace(task, last_status=TaskStatus.DEACTIVATING)
                self.store.put_task(task)
            if not all(self.targets.drained(*target) for target in task.registered_targets):
                return
        if task.launched:
            self.store.put_task(dataclasses.replace(task, last_status=TaskStatus.STOPPING))
            self.runtime.stop_task(task.task_id)
        self.store.put_task(
            dataclasses.replace(
                task,
                last_status=TaskStatus.STOPPED,
                stopped_at=now,
                health_status=HealthStatus.UNKNOWN
                if task.health_status is HealthStatus.HEALTHY
                else task.health_status,
                containers=tuple(
                    dataclasses.replace(c, last_status="STOPPED") for c in task.containers
                ),
            )
        )


def start_order(definition: TaskDefinition) -> list[ContainerDefinition]:
    """Containers with their ``dependsOn`` targets first, else in definition order."""
    by_name = {c.name: c for c in definition.container_definitions}
    ordered: list[ContainerDefinition] = []
    seen: set[str] = set()

    def visit(container: ContainerDefinition) -> None:
        if container.name in seen:
            return
        seen.add(container.name)
        for dependency, _condition in container.depends_on:
            visit(by_name[dependency])
        ordered.append(container)

    for container in definition.container_definitions:
        visit(container)
    return ordered


@dataclasses.dataclass(frozen=True)
class _Start:
    """A task recorded PENDING whose containers are to start from ``spec``."""

    task: Task
    spec: TaskSpec


@dataclasses.dataclass(frozen=True)
class _Placed:
    instance: ContainerInstance | None
    reason: str


def _records(containers: Sequence[TaskContainer]) -> tuple[ContainerRecord, ...]:
    return tuple(
        ContainerRecord(
            name=c.name,
            last_status="RUNNING" if c.running else ("STOPPED" if c.exited else "PENDING"),
            exit_code=c.exit_code,
            health_status={
                Health.HEALTHY: HealthStatus.HEALTHY,
                Health.UNHEALTHY: HealthStatus.UNHEALTHY,
            }.get(c.health, HealthStatus.UNKNOWN)
            if c.health is not None
            else HealthStatus.UNKNOWN,
        )
        for c in sorted(containers, key=lambda c: c.name)
    )
