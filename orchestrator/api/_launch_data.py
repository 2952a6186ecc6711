"""EC2's ``LaunchTemplateData`` ↔ Barista's :class:`~orchestrator.asg.instance.LaunchTemplateData`.

AWS's keys are kept where EC2 has one for the idea:

* ``ImageId``: the Docker image (``barista/service:latest``), where EC2 names an AMI;
* ``InstanceType``: a real EC2 size, turned into Docker CPU and memory limits by
  :data:`INSTANCE_TYPES`.

What a container needs and EC2 has no field for (:class:`BaristaContainer`: ``Command``,
``Environment``, ``Network``, ``StopTimeout``, and ``Cpus``/``MemoryMiB`` for limits that match
no instance type) travels the way EC2 hands an instance its boot configuration: ``UserData``,
base64 of a JSON document with those keys. That is what the ``aws`` CLI and boto3 can send,
since AWS's model has no other place for it. Barista's own JSON route and CLI also take the
same document readable, as the extension key ``BaristaContainer``; describe calls answer both.
Any other key is refused by name: a silently dropped key would launch something other than
asked.

Instance types: the t3 family, whose sizes have distinct (vCPU, memory) pairs so a stored
template reads back as the type it was created with. One EC2 vCPU is a quarter of a host core
(:data:`HOST_CORES_PER_VCPU`): the demo machine has 2 cores, so eight t3.micro-sized baristas
(0.5 core each) can share it while a busy one is still visibly throttled. Memory is the real
size as a Docker ``--memory`` limit (a ceiling, not a reservation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from orchestrator.api._requests import Request, parse
from orchestrator.errors import AwsError
from orchestrator.launch_templates import LaunchTemplateData, decode_user_data, encode_user_data

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

EXTENSION = "BaristaContainer"
USER_DATA = "UserData"
SUPPORTED_KEYS = ("ImageId", "InstanceType", USER_DATA, EXTENSION)


# Bounds: ECS's stopTimeout maximum; the largest instance type's limits, with headroom.
MAX_STOP_TIMEOUT = 120
MAX_CPUS = 16
MAX_MEMORY_MIB = 64 * 1024
MAX_COMMAND_ARGUMENTS = 256
MAX_ENVIRONMENT_VARIABLES = 256
# A user-defined Docker network's name; Docker's own modes would hand an instance the host's
# network stack (host), another container's (container:…) or none.
NETWORK_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
NETWORK_MODES = frozenset({"host", "none", "bridge", "default"})


class BaristaContainer(Request):
    """Barista's container fields that EC2's LaunchTemplateData has no key for."""

    command: list[str] = Field(default_factory=list, max_length=MAX_COMMAND_ARGUMENTS)
    environment: dict[str, str] = Field(default_factory=dict, max_length=MAX_ENVIRONMENT_VARIABLES)
    network: str | None = Field(default=None, pattern=NETWORK_NAME)
    stop_timeout: float = Field(default=30.0, ge=0, le=MAX_STOP_TIMEOUT, allow_inf_nan=False)
    cpus: float | None = Field(default=None, gt=0, le=MAX_CPUS, allow_inf_nan=False)
    memory_mi_b: int | None = Field(default=None, gt=0, le=MAX_MEMORY_MIB, alias="MemoryMiB")


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


def _container_document(raw: Mapping[str, Any]) -> dict[str, Any]:
    readable = raw.get(EXTENSION)
    encoded = raw.get(USER_DATA)
    decoded = decode_user_data(str(encoded)) if encoded is not None else None
    if readable is not None and decoded is not None and readable != decoded:
        raise AwsError(
            "InvalidParameterCombination",
            f"LaunchTemplateData.{USER_DATA} and LaunchTemplateData.{EXTENSION} say different "
            "things; give one.",
        )
    return dict(readable if readable is not None else decoded or {})


def data_from_aws(raw: Mapping[str, Any]) -> LaunchTemplateData:
    """Validate EC2-shaped LaunchTemplateData and build Barista's; refuse unknown keys by name."""
    unknown = sorted(set(raw) - set(SUPPORTED_KEYS))
    if unknown:
        raise AwsError(
            "UnknownParameter",
            f"The parameter(s) LaunchTemplateData.{', LaunchTemplateData.'.join(unknown)} "
            f"are not supported by Barista. Supported keys: {', '.join(SUPPORTED_KEYS)} "
            f"({EXTENSION}: Command, Environment, Network, StopTimeout, Cpus, MemoryMiB).",
        )
    image = raw.get("ImageId")
    if not isinstance(image, str) or not image:
        raise AwsError(
            "MissingParameter",
            "The request must contain the parameter LaunchTemplateData.ImageId "
            "(the Docker image to run).",
        )
    where = EXTENSION if EXTENSION in raw else USER_DATA
    container = parse(BaristaContainer, _container_document(raw), at=f"LaunchTemplateData.{where}")
    if container.network is not None and container.network.lower() in NETWORK_MODES:
        raise AwsError(
            "InvalidParameterValue",
            f"Invalid value '{container.network}' for LaunchTemplateData.{where}.Network: "
            "give a network of the project, not one of Docker's network modes "
            f"({', '.join(sorted(NETWORK_MODES))}).",
        )
    cpus, memory = container.cpus, container.memory_mi_b
    instance_type = raw.get("InstanceType")
    if instance_type is not None:
        if cpus is not None or memory is not None:
            raise AwsError(
                "InvalidParameterCombination",
                f"Give either InstanceType or {EXTENSION}.Cpus/MemoryMiB, not both.",
            )
        cpus, memory = limits(str(instance_type))
    return LaunchTemplateData(
        image=image,
        command=tuple(container.command),
        environment=dict(container.environment),
        cpus=cpus,
        memory_mib=memory,
        network=container.network,
        stop_timeout=container.stop_timeout,
    )


def data_to_aws(data: LaunchTemplateData) -> dict[str, Any]:
    """The LaunchTemplateData a describe call answers: what :func:`data_from_aws` accepts."""
    document: dict[str, Any] = {"ImageId": data.image}
    container: dict[str, Any] = {
        "Command": list(data.command),
        "Environment": dict(data.environment),
        "StopTimeout": data.stop_timeout,
    }
    if data.network is not None:
        container["Network"] = data.network
    instance_type = instance_type_of(data)
    if instance_type is not None:
        document["InstanceType"] = instance_type
    else:
        if data.cpus is not None:
            container["Cpus"] = data.cpus
        if data.memory_mib is not None:
            container["MemoryMiB"] = data.memory_mib
    document[USER_DATA] = encode_user_data(container)
    document[EXTENSION] = container
    return document
