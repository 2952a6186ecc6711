"""Which instances their group's launch hooks still hold out of service.

AWS registers an instance with its group's target groups only once it is in service, so an
instance in ``Pending:Wait`` or ``Pending:Proceed`` is no target yet, nor is an instance of a
warm pool (``Warmed:*``), which is no capacity until the group takes it. The load balancers'
controller asks this through :class:`LaunchHolds`, handed to it where the two controllers are
wired together, so that ELB never imports Auto Scaling (which imports ELB to attach target
groups).
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.asg.lifecycle import LifecycleState
from orchestrator.asg.store import Store
from orchestrator.loop import PerThread

_HELD = (LifecycleState.PENDING_WAIT, LifecycleState.PENDING_PROCEED)


class LaunchHolds:
    """Reads the instance lifecycles from the store file, one connection per calling thread."""

    def __init__(self, store_path: str | Path) -> None:
        path = Path(store_path)
        self._stores = PerThread(lambda: Store(path), Store.close)

    def __call__(self) -> frozenset[str]:
        records = self._stores.get().instance_lifecycles()
        return frozenset(
            i for i, record in records.items() if record.state in _HELD or record.state.warmed
        )

    def close(self) -> None:
        """Close the calling thread's connection (others close with their threads)."""
        self._stores.close()
