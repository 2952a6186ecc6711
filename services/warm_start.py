"""A worker kept warm waits to be put in service before it takes any work.

A warm pool's instances run their program while they are in the pool: in ``Warmed:Pending``
(until their health check passes) and, for the whole of their stay, in a ``Running`` pool
(``Warmed:Running``). They are no capacity of the group, so they must not take work yet. AWS's
advice is for the program to poll its instance metadata path
``autoscaling/target-lifecycle-state`` and begin once it answers ``InService``. The barista
does that after everything its start costs is done (Python's imports, the broker connection,
the ledger, the side door up so the health check passes): a warm barista the group takes
starts on its orders within one poll, which is the whole point of keeping it warm.

Where the metadata service cannot be asked at the first try (no ``AWS_EC2_METADATA_SERVICE_
ENDPOINT``, or an orchestrator the container cannot reach) the worker is no warm instance
Barista knows of and works at once, as it always did. Once it has been answered, a failed
question is asked again: a worker that knows it is warm does not start on an error.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger("services.warm_start")

PATH = "autoscaling/target-lifecycle-state"
IN_SERVICE = "InService"
WARMED = "Warmed:"


class Metadata(Protocol):
    def get(self, path: str) -> str | None:
        """The text at ``latest/meta-data/<path>``, None where it answers 404."""
        ...


def wait_until_in_service(
    metadata: Metadata, stopping: threading.Event, poll: float = 0.5
) -> str | None:
    """Block while the instance is headed for a ``Warmed:*`` state; returns the state it is
    headed for then (``InService``, or ``Terminated``: leave without working), or None when
    the metadata service could not be asked at all, or ``stopping`` was set."""
    answered = False
    waiting_in: str | None = None
    while not stopping.is_set():
        try:
            state = metadata.get(PATH)
        except (OSError, ValueError) as error:
            if not answered:
                log.info("no target lifecycle state; working at once", extra={"error": str(error)})
                return None
            log.warning("target lifecycle state unknown", extra={"error": str(error)})
            stopping.wait(poll)
            continue
        answered = True
        if state is None or not state.startswith(WARMED):
            if waiting_in is not None:
                log.info("put in service", extra={"state": state, "was": waiting_in})
            return state if state is not None else IN_SERVICE
        if waiting_in is None:
            log.info("kept warm: waiting to be put in service", extra={"state": state})
        waiting_in = state
        stopping.wait(poll)
    return None
