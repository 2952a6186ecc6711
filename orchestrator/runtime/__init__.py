"""The only code that talks to the Docker API: instances as labelled containers.

Controllers depend on the ``Runtime`` protocol; ``DockerRuntime`` is the real one on one engine,
``SwarmRuntime`` places instances on the nodes of their zone in a Docker Swarm, and
``FakeRuntime`` drives reconciler unit tests with a manual clock.
"""

from __future__ import annotations

from orchestrator.runtime.base import InstanceIdInUse, Runtime, ZoneHealth, ZoneUnavailable

__all__ = ["InstanceIdInUse", "Runtime", "ZoneHealth", "ZoneUnavailable"]
