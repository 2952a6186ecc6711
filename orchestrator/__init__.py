"""Barista's control plane: Auto Scaling groups, scaling policies, ECS, ELB, runtime, API, CLI."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("barista")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
