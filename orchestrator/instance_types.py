"""EC2 instance types as Barista sizes containers: an ``InstanceType`` is Docker CPU and memory
limits. Auto Scaling's launch templates and ECS's container instances both read it, so it
lives beside ``launch_templates`` rather than inside either service's package.

The t3 family, whose sizes have distinct (vCPU, memory) pairs so a stored template reads back
as the type it was created with. One EC2 vCPU is a quarter of a host core
(:data:`HOST_CORES_PER_VCPU`): the demo machine has 2 cores, so eight t3.micro-sized baristas
(0.5 core each) can share it while a busy one is still visibly throttled. Memory is the real
size as a Docker ``--memory`` limit (a ceiling, not a reservation).
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.errors import AwsError
from orchestrator.launch_templates import LaunchTemplateData

HOST_CORES_PER_VCPU = 0.25

# InstanceType: (vCPU, memory GiB), as EC2 lists them.
INSTANCE_TYPES: Mapping[str, tuple[int, float]] = {
    "t3.nano": (2, 0.5),
    "t3.micro": (2, 1),
    "t3.small": (2, 2),
    "t3.medium": (2, 4),
    "t3.large": (2, 8),
    "t3.xlarge": (4, 16),
    "t3.2xlarge": (8, 32),
}


def limits(instance_type: str) -> tuple[float, int]:
    """Docker ``--cpus`` and ``--memory`` (MiB) for an EC2 instance type."""
    try:
        vcpus, gib = INSTANCE_TYPES[instance_type]
    except KeyError:
        known = ", ".join(INSTANCE_TYPES)
        raise AwsError(
            "InvalidParameterValue",
            f"Invalid value '{instance_type}' for InstanceType. Barista knows: {known}.",
        ) from None
    return vcpus * HOST_CORES_PER_VCPU, int(gib * 1024)


def instance_type_of(data: LaunchTemplateData) -> str | None:
    """The instance type whose limits these are, if any."""
    for name in INSTANCE_TYPES:
        if limits(name) == (data.cpus, data.memory_mib):
            return name
    return None
