"""Barista's control plane: Auto Scaling groups, scaling policies, ECS, ELB, runtime, API, CLI."""

from __future__ import annotations

from functools import cache


@cache
def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("barista")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    """``__version__``, looked up on first use: reading the installed distributions' metadata
    takes tens of milliseconds in the service image, which every ``barista serve`` paid at
    start for a version it never prints."""
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
