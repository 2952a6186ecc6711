"""The hosts a task runtime places tasks on, for ECS's container instances.

A runtime on one Docker engine has no hosts to offer: its container instances are registered
by hand (RegisterContainerInstance) or come from a capacity provider's Auto Scaling group. A
runtime over a cluster of machines (``SwarmTaskRuntime``) reports each machine as a ``Host``,
and ECS registers it as a container instance of the cluster the host names, the way the ECS
agent on an EC2 instance registers it with its ``ECS_CLUSTER``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

DEFAULT_ECS_CLUSTER = "default"  # the ECS agent's ECS_CLUSTER when none is configured


@dataclass(frozen=True)
class Host:
    """One machine that can run tasks, as its cluster manager reports it.

    ``ready``: reachable now (a lost host is not); ``schedulable``: takes new tasks (a drained
    or paused host does not). ``cpus`` and ``memory_mib`` are the machine's own.
    """

    host_id: str
    hostname: str
    availability_zone: str | None
    ecs_cluster: str
    cpus: float
    memory_mib: int
    ready: bool
    schedulable: bool


@runtime_checkable
class TaskHosts(Protocol):
    """What a task runtime over several machines adds: the machines."""

    def hosts(self) -> list[Host]:
        """Every host the cluster knows, ready or not (a lost one answers ``ready=False``
        until it is removed from the cluster)."""
        ...
