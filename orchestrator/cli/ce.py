"""``barista ce …``: Cost Explorer over what Barista's instances ran, shaped like ``aws ce``:
``get-cost-and-usage``, ``get-savings-plans-coverage`` and ``get-savings-plans-utilization``
(``--time-period`` as JSON)."""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

_PERIOD = '{"Start": "2026-12-01", "End": "2026-12-02"}'

VERBS = (
    Verb(
        "GetCostAndUsage",
        (
            Param(
                "TimePeriod",
                "structure",
                required=True,
                help='{"Start": "2026-12-01", "End": "2026-12-02"}',
            ),
            Param("Granularity", required=True, help="DAILY, MONTHLY or HOURLY"),
            Param("Metrics", "strings", required=True, help="UnblendedCost, UsageQuantity, …"),
            Param(
                "GroupBy",
                "structures",
                help='[{"Type": "DIMENSION", "Key": "PURCHASE_TYPE"}]',
            ),
        ),
        "Cost per period, On-Demand, Spot and Savings Plans, priced per second.",
    ),
    Verb(
        "GetSavingsPlansCoverage",
        (
            Param("TimePeriod", "structure", required=True, help=_PERIOD),
            Param("Granularity", help="DAILY or MONTHLY (default)"),
        ),
        "How much of the On-Demand-eligible spend the Savings Plans covered.",
    ),
    Verb(
        "GetSavingsPlansUtilization",
        (
            Param("TimePeriod", "structure", required=True, help=_PERIOD),
            Param("Granularity", help="DAILY or MONTHLY (default)"),
        ),
        "How much of the Savings Plans' commitment was used, and what it saved.",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(commands, "ce", VERBS, help="Cost Explorer: what the instances cost")
