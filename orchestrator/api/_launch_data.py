"""EC2's ``LaunchTemplateData`` ↔ Barista's :class:`~orchestrator.instances.LaunchTemplateData`.

AWS's keys are kept where EC2 has one for the idea:

* ``ImageId``: the Docker image (``barista/service:latest``), where EC2 names an AMI;
* ``InstanceType``: a real EC2 size, turned into Docker CPU and memory limits by
  :mod:`orchestrator.instance_types`.

What a container needs and EC2 has no field for (:class:`BaristaContainer`: ``Command``,
``Environment``, ``Network``, ``StopTimeout``, and ``Cpus``/``MemoryMiB`` for limits that match
no instance type) travels the way EC2 hands an instance its boot configuration: ``UserData``,
base64 of a JSON document with those keys. That is what the ``aws`` CLI and boto3 can send,
since AWS's model has no other place for it. Barista's own JSON route and CLI also take the
same document readable, as the extension key ``BaristaContainer``; describe calls answer both.
Any other key is refused by name: a silently dropped key would launch something other than
asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from orchestrator.api._requests import Request, parse
from orchestrator.errors import AwsError
from orchestrator.instance_types import instance_type_of, limits
from orchestrator.launch_templates import LaunchTemplateData, decode_user_data, encode_user_data

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
