"""What the dashboard reads from the orchestrator's settings (``BARISTA_*`` variables).

A protocol rather than a model of its own: ``OrchestratorSettings`` carries these fields, and
tests pass a small dataclass. Every external source is optional; one that is not configured
shows as "n/a" with the variable that would enable it.
"""

from __future__ import annotations

from typing import Protocol


class DashboardSettings(Protocol):
    @property
    def time_scale(self) -> float: ...

    @property
    def broker_url(self) -> str | None: ...

    @property
    def loadgen_url(self) -> str | None:
        """The load generator's side door (``GET``/``POST /pattern``), e.g. http://loadgen:8081."""
        ...

    @property
    def ledger_url(self) -> str | None:
        """The Redis holding the guarantee ledger (``services.ledger``)."""
        ...

    @property
    def ledger_namespace(self) -> str: ...

    @property
    def orders_queue(self) -> str: ...

    @property
    def dead_letter_queue(self) -> str: ...

    @property
    def max_receive_count(self) -> int:
        """The orders queue's redrive policy, declared exactly as the baristas declare it."""
        ...

    @property
    def visibility_timeout(self) -> float: ...

    @property
    def broker_service(self) -> str | None:
        """The broker's Compose service name (default: the broker URL's host)."""
        ...

    @property
    def compose_project(self) -> str | None: ...

    @property
    def instance_metrics_port(self) -> int:
        """Where each barista serves ``/metrics`` (its side door), for latency percentiles."""
        ...

    @property
    def subscribers(self) -> str | None:
        """The events topic's subscribers, ``name=http://host:port,...``: the name is the
        subscriber's Compose service, the URL its side door (``GET /stats``)."""
        ...
