"""Fixtures the browser tests share."""

from __future__ import annotations

import pytest

from tests.support.engine import in_ci
from tests.support.tools import require_tool


@pytest.fixture
def chromium() -> str:
    """Debian's chromium; with CI=true a missing browser or Playwright fails, never skips."""
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - only the browser tests need it
    except ImportError:
        message = "Playwright for Python is missing: .venv/bin/pip install -e '.[dev]'"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return require_tool("chromium")
