"""Auto Scaling groups as ECS capacity: container instances from a group's instances, and
managed scaling that grows the group when tasks cannot be placed.

Each running instance of a capacity provider's group is a container instance of the cluster
(id ``ci-{instance id}``, its zone, and CPU units and MiB from its launch template's instance
type, as the ECS agent registers them). An instance that is gone takes its container instance
with it, and the tasks placed there stop ("Host EC2 (instance …) terminated."). The tasks
themselves run as their own containers labelled with the container instance: Barista does not
nest Docker inside the instance's container.

Managed scaling, as ``managed_scaling_desired`` computes it: while EC2 tasks wait in
PROVISIONING for lack of CPU or memory, the group needs its current instances plus enough
instances of its size to hold them (at least ``minimumScalingStepSize``, at most
``maximumScalingStepSize`` more), divided by ``targetCapacity`` percent; the group's desired
capacity only ever moves up to that, within its MaxSize. Instances still launching count
toward the desired capacity already asked for, so a pass does not ask twice. Scale-in is not
managed: the group keeps its instances until someone lowers its desired capacity.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from orchestrator.asg.store import Store
from orchestrator.ecs.model import CapacityProvider, ContainerInstance
from orchestrator.instance_types import INSTANCE_TYPES, instance_type_of
from orchestrator.instances import Health, Instance
from orchestrator.runtime import Runtime
from orchestrator.scaling.activity import timestamp

DEFAULT_RESOURCES = (2048, 4096)  # CPU units, MiB: when a template names no instance type


def container_instance_id(ec2_instance_id: str) -> str:
    return f"ci-{ec2_instance_id}"


def managed_scaling_desired(
    provider: CapacityProvider,
    *,
    instances: int,
    desired_capacity: int,
    max_size: int,
    waiting: Sequence[tuple[int, int]],
    instance_resources: tuple[int, int],
) -> int | None:
    """The group's new desired capacity for the tasks ``waiting`` ((cpu, memory) each), or
    None when it already asks for enough."""
    if not provider.managed_scaling or not waiting:
        return None
    cpu, memory = instance_resources
    needed_cpu = math.ceil(sum(c for c, _ in waiting) / cpu) if cpu else 0
    needed_memory = math.ceil(sum(m for _, m in waiting) / memory) if memory else 0
    step = max(needed_cpu, needed_memory, provider.minimum_scaling_step_size)
    step = min(step, provider.maximum_scaling_step_size)
    target = math.ceil((instances + step) * 100 / provider.target_capacity)
    target = min(target, max_size)
    return target if target > desired_capacity else None


def scaling_cause(provider: CapacityProvider, current: int, new: int, now: float) -> str:
    """AWS's activity cause: managed scaling is a target tracking policy ECS owns."""
    return (
        f"At {timestamp(now)} a monitor alarm TargetTracking-{provider.auto_scaling_group_name}"
        f"-AlarmHigh in state ALARM triggered policy ECSManagedAutoScalingPolicy-"
        f"{provider.name} changing the desired capacity from {current} to {new}."
    )


class AsgCapacity(Protocol):
    """What the ECS controller needs from EC2 Auto Scaling."""

    def instances(self, group: str) -> list[Instance]:
        """The group's instances that are not stopped."""
        ...

    def resources(self, group: str) -> tuple[int, int]:
        """CPU units and MiB one instance of the group registers."""
        ...

    def desired(self, group: str) -> tuple[int, int] | None:
        """(desired capacity, MaxSize), or None if the group does not exist."""
        ...

    def raise_desired(self, group: str, desired: int, cause: str) -> None: ...


class StoreAsgCapacity:
    """``AsgCapacity`` on the Auto Scaling store and runtime (same SQLite file)."""

    def __init__(self, store_path: str | Path, runtime: Runtime) -> None:
        self.store_path = Path(store_path)
        self.runtime = runtime

    def instances(self, group: str) -> list[Instance]:
        return [i for i in self.runtime.instances(group) if i.health is not Health.STOPPED]

    def resources(self, group: str) -> tuple[int, int]:
        with Store(self.store_path) as store:
            found = store.groups().get(group)
            if found is None:
                return DEFAULT_RESOURCES
            templates = store.launch_templates()
        template = templates.get(found.launch_template_name)
        if template is None:
            return DEFAULT_RESOURCES
        _version, data = template.resolve(found.launch_template_version)
        instance_type = instance_type_of(data)
        if instance_type is not None:
            vcpus, gib = INSTANCE_TYPES[instance_type]
            return vcpus * 1024, int(gib * 1024)
        if data.cpus is not None and data.memory_mib is not None:
            return round(data.cpus * 1024), data.memory_mib
        return DEFAULT_RESOURCES

    def desired(self, group: str) -> tuple[int, int] | None:
        with Store(self.store_path) as store:
            found = store.groups().get(group)
        return None if found is None else (found.desired_capacity, found.max_size)

    def raise_desired(self, group: str, desired: int, cause: str) -> None:
        with Store(self.store_path) as store:
            found = store.groups().get(group)
            if found is None or desired <= found.desired_capacity:
                return
            store.put_group(
                dataclasses.replace(
                    found,
                    desired_capacity=min(desired, found.max_size),
                    desired_capacity_cause=cause,
                )
            )


def container_instances_of(
    cluster: str, instances: Sequence[Instance], resources: tuple[int, int], now: float
) -> list[ContainerInstance]:
    cpu, memory = resources
    return [
        ContainerInstance(
            instance_id=container_instance_id(i.instance_id),
            cluster=cluster,
            cpu=cpu,
            memory=memory,
            availability_zone=i.availability_zone,
            ec2_instance_id=i.instance_id,
            registered_at=now,
        )
        for i in instances
    ]
