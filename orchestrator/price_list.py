"""What an hour of each instance type Barista offers costs On-Demand: the public list price.

One region, one operating system, shared tenancy: the prices AWS publishes on its EC2
On-Demand pricing page (https://aws.amazon.com/ec2/pricing/on-demand/) for **us-east-1
(N. Virginia), Linux**, in US dollars per instance-hour. The t3 family's prices there have not
changed since the family launched (August 2018); they were copied into Barista on
2026-12-04 (:data:`PRICE_LIST_DATE`). Other regions and operating systems cost more; Barista
bills everything at these.

Spot prices are not listed: the Spot market (``orchestrator.spot``) makes them, each a share
of these, and never above them (AWS caps a Spot price at the On-Demand price).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from orchestrator.errors import AwsError

PRICE_LIST_REGION = "us-east-1"
PRICE_LIST_OPERATING_SYSTEM = "Linux/UNIX"
PRICE_LIST_DATE = "2026-12-04"
PRICE_LIST_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/"

# USD per instance-hour, On-Demand, us-east-1, Linux, shared tenancy.
ON_DEMAND_HOURLY: Mapping[str, Decimal] = {
    "t3.nano": Decimal("0.0052"),
    "t3.micro": Decimal("0.0104"),
    "t3.small": Decimal("0.0208"),
    "t3.medium": Decimal("0.0416"),
    "t3.large": Decimal("0.0832"),
    "t3.xlarge": Decimal("0.1664"),
    "t3.2xlarge": Decimal("0.3328"),
}


def on_demand_hourly(instance_type: str) -> Decimal:
    """The On-Demand price of one hour of ``instance_type``, or EC2's error naming it."""
    try:
        return ON_DEMAND_HOURLY[instance_type]
    except KeyError:
        known = ", ".join(ON_DEMAND_HOURLY)
        raise AwsError(
            "InvalidParameterValue",
            f"Invalid value '{instance_type}' for InstanceType. Barista knows: {known}.",
        ) from None
