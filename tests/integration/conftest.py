"""Fixtures the integration tests of the load balancer, ECS and Auto Scaling share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.load_balancing import ElbStack, elb_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ElbStack]:
    """HAProxy, a network for targets and the ELB control plane, at time scale 10.

    A module that needs another time scale defines its own ``stack``.
    """
    with elb_stack(tmp_path) as value:
        yield value
