"""An Auto Scaling group of real baristas for a coffee shop: its launch template and group.

The tests and benchmarks that scale baristas on a shop's queue each add their own policies
(target tracking on the backlog, predictive, warm pools); the group they scale is the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchestrator.asg import create_auto_scaling_group
from orchestrator.asg.store import Store
from orchestrator.launch_templates import LaunchTemplateData, create_launch_template
from tests.support.containers import stable_image
from tests.support.shop import Shop


def put_barista_group(
    store: Store,
    shop: Shop,
    group: str,
    environment: Mapping[str, str],
    *,
    min_size: int,
    max_size: int,
    availability_zones: Sequence[str],
    stop_timeout: int,
) -> None:
    """Store a launch template of the service image serving a barista on the shop's network
    and a group ``group`` launching it; both are named ``group``."""
    store.put_launch_template(
        create_launch_template(
            group,
            LaunchTemplateData(
                image=stable_image("service"),
                command=("serve", "barista"),
                environment=dict(environment),
                network=shop.network.name,
                stop_timeout=stop_timeout,
            ),
        )
    )
    store.put_group(
        create_auto_scaling_group(
            group,
            group,
            min_size=min_size,
            max_size=max_size,
            availability_zones=tuple(availability_zones),
        )
    )
