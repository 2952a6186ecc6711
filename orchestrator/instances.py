"""The orchestrator's shared vocabulary: instances and their Docker labels.

An *instance* is a container the orchestrator started for an Auto Scaling group. Everything
the reconciler needs to know about one is on its labels, so the actual state can always be
rebuilt from Docker alone (``orchestrator.runtime``) and the orchestrator keeps no hidden
in-memory truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Docker labels (docs/architecture.md): the only place instance metadata lives.
LABEL_MANAGED = "barista.managed"  # "true" on every container the orchestrator started
LABEL_GROUP = "barista.group"
LABEL_INSTANCE_ID = "barista.instance-id"
LABEL_TEMPLATE = "barista.launch-template"
LABEL_TEMPLATE_VERSION = "barista.template-version"
LABEL_AZ = "barista.az"
LABEL_LIFECYCLE = "barista.lifecycle"  # spot | on-demand
LABEL_PROTECTED = "barista.protected"  # "true" | "false" (scale-in protection at launch)
LABEL_LAUNCHED_AT = "barista.launched-at"  # seconds since the epoch, as a decimal
LABEL_INSTANCE_TYPE = "barista.instance-type"  # t3.micro, …, when the limits name a type


# What AWS's SDKs read to find the instance metadata service; the orchestrator serves one per
# instance (orchestrator.api.instance_metadata), the instance id in the path.
METADATA_ENDPOINT_VARIABLE = "AWS_EC2_METADATA_SERVICE_ENDPOINT"


def metadata_endpoint(base_url: str, instance_id: str) -> str:
    """One instance's metadata service, given the orchestrator's address as instances see it."""
    return f"{base_url.rstrip('/')}/metadata/{instance_id}/"


class Lifecycle(StrEnum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"


class Health(StrEnum):
    """What the runtime sees: Docker's health status, or running/not for images without one."""

    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Instance:
    """An instance as the runtime reports it, rebuilt from the container's labels."""

    instance_id: str
    group: str
    launch_template: str
    template_version: int
    availability_zone: str
    lifecycle: Lifecycle
    protected_at_launch: bool
    launched_at: float
    health: Health
    container_id: str
    address: str | None = None  # the container's IP on its network, for load balancers
    # The EC2 instance type its limits are (orchestrator.instance_types); None for limits
    # that are no type, and for containers launched before the label existed.
    instance_type: str | None = None
    # The host it runs on, where a runtime has several (a Swarm node's hostname); None on one
    # engine. The dashboard shows instances per host and zone with it.
    host: str | None = None
