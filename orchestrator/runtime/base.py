"""What a controller may ask of the machine that runs its instances.

The protocol is deliberately small: launch, terminate, list, one CPU sample and a clock, plus
the three moves a warm pool makes on an instance it keeps (stop, hibernate, start again). The
actual state a reconciler compares with the store comes only from ``instances()``, which is
rebuilt from the runtime's own records (Docker labels), never from memory, so a restarted
orchestrator sees exactly what its predecessor left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from orchestrator.instance_types import instance_type_of
from orchestrator.instances import (
    LABEL_AZ,
    LABEL_GROUP,
    LABEL_INSTANCE_ID,
    LABEL_INSTANCE_TYPE,
    LABEL_LAUNCHED_AT,
    LABEL_LIFECYCLE,
    LABEL_MANAGED,
    LABEL_PROTECTED,
    LABEL_TEMPLATE,
    LABEL_TEMPLATE_VERSION,
    Instance,
    Lifecycle,
)
from orchestrator.launch_templates import LaunchTemplateData


class InstanceIdInUse(Exception):
    """``launch`` was given an instance id that already names an instance (even a stopped one).

    Instance ids are never reused, like EC2's: a reconciler that sees this has a bug or raced
    another reconciler, and must not assume the existing instance is the one it asked for.
    """


class ZoneUnavailable(Exception):
    """``launch`` was asked for a zone where no host can take an instance now (every node of
    the zone is down or drained). EC2 answers ``InsufficientInstanceCapacity`` for a zone it
    cannot launch in, and Auto Scaling launches in the group's other zones instead."""

    def __init__(self, zone: str) -> None:
        super().__init__(
            f"InsufficientInstanceCapacity: no host of Availability Zone {zone} can take an "
            "instance now."
        )
        self.zone = zone


@runtime_checkable
class ZoneHealth(Protocol):
    """What a runtime with real hosts per zone adds: which zones cannot launch now.

    A runtime on one engine has no such notion (every zone is a label on the same host) and
    does not offer it; Auto Scaling then treats every zone as available.
    """

    def unavailable_zones(self, zones: Iterable[str]) -> frozenset[str]:
        """Those of ``zones`` where no host is ready to run an instance."""
        ...


@runtime_checkable
class Runtime(Protocol):
    """Starts and stops instances for Auto Scaling groups and reports what exists.

    Labels written at launch are immutable: scale-in protection set later lives in the store;
    ``Instance.protected_at_launch`` only records what the instance was launched with.
    """

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
        """Start one instance and return it as ``instances()`` would report it.

        Everything after the instance id is keyword-only: eight values of similar types are
        too easy to pass in the wrong order.

        Returns once the instance has been started (not when it is healthy: health starts as
        ``Health.STARTING`` for images with a health check). ``launched_at`` is ``now()``.
        Raises ``InstanceIdInUse`` if ``instance_id`` already exists in any state. The
        runtime never restarts an instance that exits: replacing it is the group's job.
        """
        ...

    def terminate(self, instance_id: str, stop_timeout: float | None = None) -> None:
        """Stop an instance the ECS way and remove it; returns when it is gone.

        Sends SIGTERM, waits up to ``stop_timeout`` seconds (default: the launch template's
        ``stop_timeout``) for the instance to exit, then SIGKILLs it. An already-stopped
        instance is just removed. Idempotent: an unknown or already-removed id is a no-op, so
        a reconciler restarted mid-termination can simply terminate again.
        """
        ...

    def stop_instance(self, instance_id: str) -> None:
        """Stop an instance and keep it, as EC2's StopInstances does (a warm pool's
        ``Stopped``): SIGTERM, the template's stop timeout, SIGKILL; it stays listed with
        ``Health.STOPPED`` until started again or terminated. Returns once it has stopped.
        ``LookupError`` for an unknown id."""
        ...

    def hibernate_instance(self, instance_id: str) -> None:
        """Freeze a running instance with its memory kept (a warm pool's ``Hibernated``:
        ``docker pause``); it reports ``Health.UNHEALTHY`` while frozen. ``LookupError`` for
        an unknown id."""
        ...

    def start_instance(self, instance_id: str) -> None:
        """Run a stopped or hibernated instance again (nothing if it runs); health starts
        over as for a launch. ``LookupError`` for an unknown id."""
        ...

    def instances(self, group: str | None = None) -> list[Instance]:
        """Every instance this runtime manages (of ``group`` if given), in no particular order.

        Includes instances that exited or were killed behind the orchestrator's back, with
        ``Health.STOPPED``, until they are terminated: that is how a reconciler notices deaths.
        """
        ...

    def cpu_percent(self, instance_id: str) -> float | None:
        """CPU use of one instance, in percent of one CPU (100.0 = one core busy), from one sample.

        ``None`` when there is no sample: unknown id, instance not running, or the first
        reading has no previous one to compare with. May take about a second on Docker.
        """
        ...

    def now(self) -> float:
        """Seconds since the epoch on the clock the reconciler must use for grace periods,
        cooldowns and ``launched_at`` comparisons (a manual clock in tests)."""
        ...


def launch_labels(  # noqa: PLR0913 - Runtime.launch's arguments, by name
    extra: Mapping[str, str],
    group: str,
    instance_id: str,
    *,
    template_name: str,
    template_version: int,
    data: LaunchTemplateData,
    availability_zone: str,
    lifecycle: Lifecycle,
    protected: bool,
    launched_at: float,
) -> dict[str, str]:
    """The labels an instance carries from its launch, on any runtime: its whole record
    (``orchestrator.instances``' names), so the orchestrator reads every instance back from
    the runtime after a restart. ``extra`` are the runtime's own (a test's scope, say)."""
    labels = {
        **extra,
        LABEL_MANAGED: "true",
        LABEL_GROUP: group,
        LABEL_INSTANCE_ID: instance_id,
        LABEL_TEMPLATE: template_name,
        LABEL_TEMPLATE_VERSION: str(template_version),
        LABEL_AZ: availability_zone,
        LABEL_LIFECYCLE: str(lifecycle),
        LABEL_PROTECTED: "true" if protected else "false",
        LABEL_LAUNCHED_AT: repr(launched_at),
    }
    instance_type = instance_type_of(data)
    if instance_type is not None:
        labels[LABEL_INSTANCE_TYPE] = instance_type
    return labels
