"""Launch templates are bounded: no Docker network mode (``host``), no unbounded stop timeout,
CPU, memory, command or environment."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.api._launch_data import (
    MAX_COMMAND_ARGUMENTS,
    MAX_CPUS,
    MAX_ENVIRONMENT_VARIABLES,
    MAX_MEMORY_MIB,
    MAX_STOP_TIMEOUT,
    data_from_aws,
)
from orchestrator.errors import AwsError


def _data(**container: Any) -> dict[str, Any]:
    return {"ImageId": "barista/service:latest", "BaristaContainer": container}


@pytest.mark.parametrize("network", ["host", "HOST", "none", "bridge", "container:abc", "a b", ""])
def test_a_docker_network_mode_or_odd_name_is_refused(network: str) -> None:
    with pytest.raises(AwsError) as refused:
        data_from_aws(_data(Network=network))
    assert refused.value.status == 400
    assert "Network" in refused.value.message or "network" in refused.value.message


def test_a_project_network_is_accepted() -> None:
    assert data_from_aws(_data(Network="barista_default")).network == "barista_default"


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("StopTimeout", MAX_STOP_TIMEOUT + 1),
        ("StopTimeout", -1),
        ("StopTimeout", "inf"),
        ("Cpus", MAX_CPUS * 2),
        ("Cpus", "nan"),
        ("MemoryMiB", MAX_MEMORY_MIB + 1),
        ("Command", ["x"] * (MAX_COMMAND_ARGUMENTS + 1)),
        ("Environment", {f"V{i}": "x" for i in range(MAX_ENVIRONMENT_VARIABLES + 1)}),
    ],
)
def test_values_past_their_bounds_are_refused(member: str, value: object) -> None:
    with pytest.raises(AwsError) as refused:
        data_from_aws(_data(**{member: value}))
    assert refused.value.code == "ValidationError"


def test_values_at_their_bounds_are_accepted() -> None:
    data = data_from_aws(
        _data(StopTimeout=MAX_STOP_TIMEOUT, Cpus=MAX_CPUS, MemoryMiB=MAX_MEMORY_MIB)
    )
    assert (data.stop_timeout, data.cpus, data.memory_mib) == (
        MAX_STOP_TIMEOUT,
        MAX_CPUS,
        MAX_MEMORY_MIB,
    )
