"""Faults on real brokers, judged by the ledger: no order order-api confirmed is ever lost.

Each scenario runs on Kafka, RabbitMQ and Redis (see tests/support/faults.py for the shop and
the faults). The default run keeps one scenario per backend (``CI_SUBSET``); ``-m faults``
(``make faults``) runs the whole matrix and ``python -m tests.faults.report`` tabulates it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict

import pytest

from tests.support.brokers import STARTERS
from tests.support.faults import DUPLICATE_BOUND, SCENARIOS, run_scenario

pytestmark = [pytest.mark.docker, pytest.mark.faults]

# Where `make faults` collects the results (tests.faults.report sets it).
RESULTS_ENV = "BARISTA_FAULT_RESULTS"


@pytest.mark.parametrize("backend", list(STARTERS))
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_no_confirmed_order_is_lost(scenario: str, backend: str):
    result = run_scenario(scenario, backend)
    if path := os.environ.get(RESULTS_ENV):
        with open(path, "a") as results:
            results.write(json.dumps(asdict(result)) + "\n")
    assert result.lost == 0, result
    assert result.brewed + result.dead_lettered == result.confirmed, result
    assert result.duplicates <= DUPLICATE_BOUND, result
    assert result.gave_up == 0, result  # a retrying customer's order is confirmed in the end
