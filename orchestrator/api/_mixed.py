"""``MixedInstancesPolicy`` on the wire: CreateAutoScalingGroup's and UpdateAutoScalingGroup's
request structure, parsed into ``orchestrator.asg.mixed``'s model (which checks AWS's rules),
and DescribeAutoScalingGroups' answer.

Not supported, and refused by name rather than ignored: an override's own
``LaunchTemplateSpecification`` or ``ImageId``, ``InstanceRequirements`` (attribute-based
selection) and ``DistributionSegments``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.api._requests import Request
from orchestrator.asg.mixed import (
    MixedInstancesPolicy,
    Override,
    instances_distribution,
    mixed_instances_policy,
)
from orchestrator.asg.operations import LaunchTemplateSpecification
from orchestrator.errors import ValidationError


class LaunchTemplateSpecificationRequest(Request):
    launch_template_id: str | None = None
    launch_template_name: str | None = Field(default=None, min_length=3, max_length=128)
    version: str | None = None


class OverrideRequest(Request):
    instance_type: str | None = Field(default=None, min_length=1, max_length=255)
    weighted_capacity: str | None = Field(default=None, min_length=1, max_length=32)
    launch_template_specification: dict[str, Any] | None = None
    instance_requirements: dict[str, Any] | None = None
    image_id: str | None = None

    def override(self, index: int) -> Override:
        member = f"mixedInstancesPolicy.launchTemplate.overrides.{index}"
        for name in ("launch_template_specification", "instance_requirements", "image_id"):
            if getattr(self, name) is not None:
                raise ValidationError(
                    f"{member}: Barista does not support {_pascal(name)} in Overrides; name "
                    "an InstanceType (and WeightedCapacity)."
                )
        if self.instance_type is None:
            raise ValidationError(f"{member}: InstanceType is required.")
        weight = None
        if self.weighted_capacity is not None:
            try:
                weight = int(self.weighted_capacity)
            except ValueError:
                raise ValidationError(
                    f"{member}.weightedCapacity: '{self.weighted_capacity}' is not a whole number."
                ) from None
        return Override(self.instance_type, weight)


class LaunchTemplateRequest(Request):
    launch_template_specification: LaunchTemplateSpecificationRequest
    overrides: list[OverrideRequest] = Field(default_factory=list)


class InstancesDistributionRequest(Request):
    on_demand_allocation_strategy: str | None = None
    on_demand_base_capacity: int | None = None
    on_demand_percentage_above_base_capacity: int | None = None
    spot_allocation_strategy: str | None = None
    spot_instance_pools: int | None = None
    spot_max_price: str | None = Field(default=None, max_length=255)
    distribution_segments: list[Any] | None = None


class MixedInstancesPolicyRequest(Request):
    launch_template: LaunchTemplateRequest | None = None
    instances_distribution: InstancesDistributionRequest | None = None

    def specification(self) -> LaunchTemplateSpecification:
        if self.launch_template is None:
            raise ValidationError(
                "mixedInstancesPolicy.launchTemplate: a LaunchTemplate with a "
                "LaunchTemplateSpecification is required."
            )
        spec = self.launch_template.launch_template_specification
        return LaunchTemplateSpecification(
            spec.launch_template_id, spec.launch_template_name, spec.version
        )

    def policy(self) -> MixedInstancesPolicy:
        given = self.instances_distribution or InstancesDistributionRequest()
        if given.distribution_segments is not None:
            raise ValidationError(
                "mixedInstancesPolicy.instancesDistribution: Barista does not support "
                "DistributionSegments."
            )
        distribution = instances_distribution(
            on_demand_allocation_strategy=given.on_demand_allocation_strategy,
            on_demand_base_capacity=given.on_demand_base_capacity,
            on_demand_percentage_above_base_capacity=given.on_demand_percentage_above_base_capacity,
            spot_allocation_strategy=given.spot_allocation_strategy,
            spot_instance_pools=given.spot_instance_pools,
            spot_max_price=given.spot_max_price,
        )
        overrides = self.launch_template.overrides if self.launch_template else []
        return mixed_instances_policy(
            [o.override(n + 1) for n, o in enumerate(overrides)], distribution
        )


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def one_launch_template(
    launch_template: LaunchTemplateSpecification | None,
    mixed: MixedInstancesPolicyRequest | None,
) -> tuple[LaunchTemplateSpecification, MixedInstancesPolicy | None]:
    """CreateAutoScalingGroup takes a LaunchTemplate or a MixedInstancesPolicy, not both."""
    if (launch_template is None) == (mixed is None):
        raise ValidationError(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, "
            "InstanceId or MixedInstancesPolicy parameter."
        )
    if mixed is not None:
        return mixed.specification(), mixed.policy()
    assert launch_template is not None
    return launch_template, None


def describe_mixed(policy: MixedInstancesPolicy, template: dict[str, Any]) -> dict[str, Any]:
    """DescribeAutoScalingGroups' ``MixedInstancesPolicy``."""
    distribution = policy.instances_distribution
    described_distribution: dict[str, Any] = {
        "OnDemandAllocationStrategy": distribution.on_demand_allocation_strategy.value,
        "OnDemandBaseCapacity": distribution.on_demand_base_capacity,
        "OnDemandPercentageAboveBaseCapacity": (
            distribution.on_demand_percentage_above_base_capacity
        ),
        "SpotAllocationStrategy": distribution.spot_allocation_strategy.value,
        "SpotInstancePools": distribution.spot_instance_pools,
    }
    if distribution.spot_max_price is not None:
        described_distribution["SpotMaxPrice"] = distribution.spot_max_price
    overrides: list[dict[str, Any]] = []
    for override in policy.overrides:
        described: dict[str, Any] = {"InstanceType": override.instance_type}
        if override.weighted_capacity is not None:
            described["WeightedCapacity"] = str(override.weighted_capacity)
        overrides.append(described)
    return {
        "LaunchTemplate": {"LaunchTemplateSpecification": template, "Overrides": overrides},
        "InstancesDistribution": described_distribution,
    }
