"""``barista ce …``: Cost Explorer's GetCostAndUsage over what Barista's instances ran, shaped
like ``aws ce get-cost-and-usage`` (``--time-period Start=…,End=…`` as JSON)."""

from __future__ import annotations

import argparse

from orchestrator.cli._client import Param, Verb, register_service

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
        "Cost per period, On-Demand and Spot, priced per second.",
    ),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_service(commands, "ce", VERBS, help="Cost Explorer: what the instances cost")
