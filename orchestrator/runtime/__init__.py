"""The only code that talks to the Docker API: instances as labelled containers.

Controllers depend on the ``Runtime`` protocol; ``DockerRuntime`` is the real one and
``FakeRuntime`` drives reconciler unit tests with a manual clock.
"""

from __future__ import annotations

from orchestrator.runtime.base import InstanceIdInUse, Runtime

__all__ = ["InstanceIdInUse", "Runtime"]
