"""The default run keeps one fault scenario per backend; ``-m faults`` asks for them all."""

from __future__ import annotations

import pytest

# One representative scenario per backend for `make test` (and so CI); `make faults` runs
# every scenario on every backend. The ids are test_faults.py's parameter ids.
CI_SUBSET = {
    "broker-sigkill-kafka",
    "partition-baristas-rabbitmq",
    "partition-order-api-redis",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "faults" in (config.getoption("markexpr") or ""):
        return
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        in_subset = callspec is not None and callspec.id in CI_SUBSET
        (deselected if item.get_closest_marker("faults") and not in_subset else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
