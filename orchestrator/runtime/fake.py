"""``FakeRuntime``: the ``Runtime`` protocol in memory, for fast deterministic reconciler tests.

Nothing happens on its own: the clock moves only with ``advance``, health changes only with
``set_health``, CPU readings only with ``set_cpu``. Every launch and termination is recorded
in order, so a test asserts what a reconciler *did*, not just where it ended up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from orchestrator.instance_types import instance_type_of
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.launch_templates import LaunchTemplateData
from orchestrator.runtime.base import InstanceIdInUse
from orchestrator.runtime.images import ImagePolicy


@dataclass(frozen=True)
class Call:
    """One recorded runtime action; ``stop_timeout`` is what terminate resolved it to."""

    action: Literal["launch", "terminate", "stop", "hibernate", "start"]
    instance_id: str
    at: float
    stop_timeout: float | None = None


class FakeRuntime:
    """In-memory instances, a manual clock starting at ``start``, and a log of calls.

    New instances start with ``initial_health`` (``Health.HEALTHY`` by default; pass
    ``Health.STARTING`` to exercise grace periods). A terminated instance disappears at once;
    one made ``Health.STOPPED`` with ``set_health`` stays listed until terminated, as a dead
    container does on Docker.
    """

    def __init__(
        self,
        start: float = 1_000_000.0,
        initial_health: Health = Health.HEALTHY,
        images: ImagePolicy | None = None,
    ) -> None:
        self._now = start
        # None runs any image (the unit tests' "x"); a policy refuses as DockerRuntime does.
        self._images = images
        self._initial_health = initial_health
        self._instances: dict[str, Instance] = {}
        self._templates: dict[str, LaunchTemplateData] = {}
        self._cpu: dict[str, float] = {}
        self._used_ids: set[str] = set()
        self.calls: list[Call] = []
        self._paused: set[str] = set()
        self.services: dict[str, str] = {}  # compose service → container name
        self.restarted: list[str] = []
        self.stopped_services: set[str] = set()

    def launch(
        self,
        group: str,
        instance_id: str,
        *,
        template_name: str,
        template_version: int,
        data: LaunchTemplateData,
        availability_zone: str,
        lifecycle: Lifecycle,
        protected: bool,
    ) -> Instance:
        # Docker keeps a dead container's name until it is removed; we go further and never
        # reuse an id, which is what EC2 guarantees and what a reconciler should rely on.
        if instance_id in self._used_ids:
            raise InstanceIdInUse(instance_id)
        if self._images is not None:
            self._images.check(data.image)
        self._used_ids.add(instance_id)
        instance = Instance(
            instance_id=instance_id,
            group=group,
            launch_template=template_name,
            template_version=template_version,
            availability_zone=availability_zone,
            lifecycle=lifecycle,
            protected_at_launch=protected,
            launched_at=self._now,
            health=self._initial_health,
            container_id=f"fake-{instance_id}",
            address=f"10.0.0.{len(self._used_ids) % 250 + 2}",
            instance_type=instance_type_of(data),
        )
        self._instances[instance_id] = instance
        self._templates[instance_id] = data
        self.calls.append(Call("launch", instance_id, self._now))
        return instance

    def terminate(self, instance_id: str, stop_timeout: float | None = None) -> None:
        instance = self._instances.pop(instance_id, None)
        if instance is None:
            return
        data = self._templates.pop(instance_id)
        self._cpu.pop(instance_id, None)
        resolved = data.stop_timeout if stop_timeout is None else stop_timeout
        self.calls.append(Call("terminate", instance_id, self._now, resolved))

    def stop_instance(self, instance_id: str) -> None:
        if instance_id not in self._instances:
            raise LookupError(f"no instance {instance_id}")
        self._paused.discard(instance_id)
        self.set_health(instance_id, Health.STOPPED)
        self.calls.append(Call("stop", instance_id, self._now))

    def hibernate_instance(self, instance_id: str) -> None:
        if instance_id not in self._instances:
            raise LookupError(f"no instance {instance_id}")
        self._paused.add(instance_id)
        self.set_health(instance_id, Health.UNHEALTHY)
        self.calls.append(Call("hibernate", instance_id, self._now))

    def start_instance(self, instance_id: str) -> None:
        """A started instance begins with the fake's initial health, as a launch does."""
        if instance_id not in self._instances:
            raise LookupError(f"no instance {instance_id}")
        self._paused.discard(instance_id)
        self.set_health(instance_id, self._initial_health)
        self.calls.append(Call("start", instance_id, self._now))

    def instances(self, group: str | None = None) -> list[Instance]:
        return [i for i in self._instances.values() if group is None or i.group == group]

    def cpu_percent(self, instance_id: str) -> float | None:
        instance = self._instances.get(instance_id)
        if instance is None or instance.health is Health.STOPPED:
            return None
        return self._cpu.get(instance_id)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward; it never goes back, as the reconciler assumes."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, not by {seconds}")
        self._now += seconds

    def set_health(self, instance_id: str, health: Health) -> None:
        """What Docker would report next: ``Health.STOPPED`` simulates a crash or a kill."""
        self._instances[instance_id] = replace(self._instances[instance_id], health=health)

    def set_cpu(self, instance_id: str, percent: float | None) -> None:
        """The next ``cpu_percent`` readings for this instance (``None``: no sample)."""
        if instance_id not in self._instances:
            raise KeyError(instance_id)
        if percent is None:
            self._cpu.pop(instance_id, None)
        else:
            self._cpu[instance_id] = percent

    def kill(self, instance_id: str) -> None:
        """What ``DockerRuntime.kill`` does: a running instance becomes stopped."""
        self._running(instance_id, "kill")
        self.set_health(instance_id, Health.STOPPED)

    def pause(self, instance_id: str) -> None:
        """A paused container reports unhealthy on Docker; so does this one."""
        self._running(instance_id, "pause")
        self._paused.add(instance_id)
        self.set_health(instance_id, Health.UNHEALTHY)

    def unpause(self, instance_id: str) -> None:
        if instance_id not in self._paused:
            raise ValueError(f"cannot unpause {instance_id}: it is not paused")
        self._paused.discard(instance_id)
        self.set_health(instance_id, Health.HEALTHY)

    def restart_service(self, service: str, project: str | None = None) -> str:
        """Records the restart; ``services`` (name → container name) says what exists."""
        name = self._service(service)
        self.restarted.append(service)
        self.stopped_services.discard(service)
        return name

    def stop_service(self, service: str, project: str | None = None) -> str:
        """As ``DockerRuntime.stop_service``: the service's container no longer runs."""
        name = self._service(service)
        self.stopped_services.add(service)
        return name

    def start_service(self, service: str, project: str | None = None) -> str:
        name = self._service(service)
        self.stopped_services.discard(service)
        return name

    def service_running(self, service: str, project: str | None = None) -> bool:
        self._service(service)
        return service not in self.stopped_services

    def _service(self, service: str) -> str:
        name = self.services.get(service)
        if name is None:
            raise LookupError(f"no container has the label com.docker.compose.service={service}")
        return name

    def _running(self, instance_id: str, action: str) -> None:
        instance = self._instances.get(instance_id)
        if instance is None:
            raise LookupError(f"no instance {instance_id}")
        if instance.health is Health.STOPPED or instance_id in self._paused:
            raise ValueError(f"cannot {action} {instance_id}: it is not running")

    @property
    def launched(self) -> list[str]:
        """Instance ids in launch order."""
        return [call.instance_id for call in self.calls if call.action == "launch"]

    @property
    def terminated(self) -> list[str]:
        """Instance ids in termination order (no-op terminations are not recorded)."""
        return [call.instance_id for call in self.calls if call.action == "terminate"]
