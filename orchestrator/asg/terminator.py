"""How an instance leaves an Auto Scaling group: drained by the load balancer, then stopped.

The Auto Scaling controller never waits for either. It asks the load balancer to begin
draining (:class:`Drain`, whose own loop drains) and checks on later passes whether it is
over; it hands the stop (SIGTERM, the template's stopTimeout, SIGKILL) to :class:`Stops`,
which in the orchestrator runs it on a thread of its own (:class:`BackgroundStops`), so a
group whose instance drains for the whole deregistration delay holds up no other group.

:class:`Terminator` is the blocking form, for what must finish before it returns:
DeleteAutoScalingGroup with ForceDelete (which AWS performs without lifecycle hooks).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from orchestrator.runtime import Runtime

log = logging.getLogger(__name__)

# (group name, instance id) -> returns once the instance may be stopped: the load balancer
# has deregistered it and its connections have drained (deregistration delay).
BeforeTerminate = Callable[[str, str], None]


class Drain(Protocol):
    """The load balancer's side of a termination, in two calls that never wait."""

    def begin_drain(self, group_name: str, instance_id: str) -> None:
        """Deregister the instance from the group's target groups; idempotent."""
        ...

    def drained(self, group_name: str, instance_id: str) -> bool:
        """True once no target group routes to it (or its deregistration delay is over)."""
        ...


class Stops(Protocol):
    """Stops instances for the controller; ``stop`` may return before the instance is gone,
    and calling it again for an instance already being stopped does nothing more. ``park``
    does the same for a warm pool's instance that is kept: stopped (``docker stop``), or with
    ``hibernate`` frozen (``docker pause``)."""

    def stop(self, instance_id: str) -> None: ...

    def park(self, instance_id: str, *, hibernate: bool) -> None: ...


@dataclass(frozen=True)
class InlineStops:
    """Stops on the calling thread: the instance is gone when ``stop`` returns (tests, CLI)."""

    runtime: Runtime

    def stop(self, instance_id: str) -> None:
        self.runtime.terminate(instance_id)

    def park(self, instance_id: str, *, hibernate: bool) -> None:
        _park(self.runtime, instance_id, hibernate=hibernate)


def _park(runtime: Runtime, instance_id: str, *, hibernate: bool) -> None:
    if hibernate:
        runtime.hibernate_instance(instance_id)
    else:
        runtime.stop_instance(instance_id)


class BackgroundStops:
    """Stops on a small pool of threads, so a stopTimeout never holds up a reconcile pass.

    Which stops are running is kept in memory only: after a restart the controller asks
    again, and ``Runtime.terminate`` is idempotent.
    """

    def __init__(self, runtime: Runtime, workers: int = 4) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asg-stop")
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def stop(self, instance_id: str) -> None:
        self._submit(instance_id, self.runtime.terminate)

    def park(self, instance_id: str, *, hibernate: bool) -> None:
        self._submit(instance_id, lambda i: _park(self.runtime, i, hibernate=hibernate))

    def _submit(self, instance_id: str, action: Callable[[str], None]) -> None:
        with self._lock:
            if instance_id in self._running:
                return
            self._running.add(instance_id)
        self._pool.submit(self._stop, instance_id, action)

    def _stop(self, instance_id: str, action: Callable[[str], None]) -> None:
        try:
            action(instance_id)
        except Exception:
            log.exception("stopping %s failed; the next pass asks again", instance_id)
        finally:
            with self._lock:
                self._running.discard(instance_id)

    def shutdown(self) -> None:
        """Wait for the stops under way (each bounded by its stopTimeout)."""
        self._pool.shutdown(wait=True)


@dataclass(frozen=True)
class Terminator:
    """Drains through ``before_terminate`` (None: no load balancer), then terminates."""

    runtime: Runtime
    before_terminate: BeforeTerminate | None = None

    def __call__(self, group_name: str, instance_id: str) -> None:
        """Returns when the instance is stopped; blocks for the drain, which the load balancer
        bounds by the target groups' longest deregistration delay."""
        if self.before_terminate is not None:
            self.before_terminate(group_name, instance_id)
        self.runtime.terminate(instance_id)
