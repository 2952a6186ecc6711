"""Machines as ECS container instances: what a task runtime's hosts register (pure).

On a runtime with machines (``runtime.hosts.TaskHosts``, a Docker Swarm's nodes), each
machine is a container instance of the cluster it names, as the ECS agent on an EC2 instance
registers it: its CPU units (1024 per CPU) and MiB, its zone as ``ecs.availability-zone``,
and the machine's id as ``barista:host`` (where the runtime runs the tasks placed on it).

A machine that stops answering is deregistered and the tasks placed on it are stopped
("Host ... is down."): their services start replacements, placed over the machines still
there, as ECS does for the tasks of an EC2 instance that stopped. A drained or paused
machine stays registered as ``DRAINING``: nothing new is placed on it. It registers again
(``ACTIVE``, its tasks gone) when it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.ecs.model import ContainerInstance
from orchestrator.runtime.hosts import Host

HOST_ATTRIBUTE = "barista:host"  # the machine's id, as its runtime knows it
HOSTNAME_ATTRIBUTE = "barista:hostname"


def host_instance_id(host: Host) -> str:
    return f"ci-{host.host_id}"


def host_down_reason(instance: ContainerInstance) -> str:
    name = instance.attribute(HOSTNAME_ATTRIBUTE) or instance.attribute(HOST_ATTRIBUTE)
    return f"Host {name} is down."


def container_instance_of(host: Host, now: float) -> ContainerInstance:
    """The container instance ``host`` registers (``registered_at`` = ``now``)."""
    assert host.availability_zone is not None
    return ContainerInstance(
        instance_id=host_instance_id(host),
        cluster=host.ecs_cluster,
        cpu=round(host.cpus * 1024),
        memory=host.memory_mib,
        availability_zone=host.availability_zone,
        attributes=((HOST_ATTRIBUTE, host.host_id), (HOSTNAME_ATTRIBUTE, host.hostname)),
        status="ACTIVE" if host.schedulable else "DRAINING",
        registered_at=now,
    )


@dataclass(frozen=True)
class HostChanges:
    """What a pass changes: instances to register or update, and instances to deregister
    (whose tasks then stop)."""

    put: tuple[ContainerInstance, ...]
    deregister: tuple[ContainerInstance, ...]


def host_changes(
    hosts: Sequence[Host],
    registered: Sequence[ContainerInstance],
    clusters: Sequence[str],
    now: float,
) -> HostChanges:
    """Bring the host-backed container instances of ``clusters`` (the active ones) in line
    with ``hosts``. A host without a zone is not registered: every ECS container instance has
    one. Instances registered by hand or from Auto Scaling (no ``barista:host``) are left be.
    """
    wanted = {
        host_instance_id(h): h
        for h in hosts
        if h.ready and h.availability_zone is not None and h.ecs_cluster in clusters
    }
    existing = {i.instance_id: i for i in registered if i.attribute(HOST_ATTRIBUTE) is not None}
    put = []
    for instance_id, host in wanted.items():
        current = existing.get(instance_id)
        fresh = container_instance_of(host, now)
        if current is None:
            put.append(fresh)
        elif (current.status, current.cpu, current.memory, current.cluster) != (
            fresh.status,
            fresh.cpu,
            fresh.memory,
            fresh.cluster,
        ):
            put.append(dataclasses.replace(fresh, registered_at=current.registered_at))
    deregister = tuple(i for instance_id, i in existing.items() if instance_id not in wanted)
    return HostChanges(tuple(put), deregister)
