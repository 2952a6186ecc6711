"""PutWarmPool, DescribeWarmPool and DeleteWarmPool on the store, with AWS's rules and errors.

The controller acts on what these store (``AutoScalingController.reconcile_warm_pools``):
nothing here launches or stops an instance, so each call answers at once, as AWS's do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from orchestrator.asg import paging
from orchestrator.asg.group import AutoScalingGroup, group_named
from orchestrator.asg.lifecycle import InstanceLifecycle
from orchestrator.asg.paging import Page
from orchestrator.asg.refresh_operations import in_progress
from orchestrator.asg.store import Store
from orchestrator.asg.warm_pool import WarmPool, put_warm_pool
from orchestrator.errors import ValidationError
from orchestrator.instances import Instance
from orchestrator.runtime import Runtime

MAX_WARM_POOL_RECORDS = 50  # DescribeWarmPool's MaxRecords: default and most


@dataclass(frozen=True)
class WarmInstance:
    """One entry of DescribeWarmPool's ``Instances``."""

    group: AutoScalingGroup
    instance: Instance
    lifecycle: InstanceLifecycle


@dataclass(frozen=True)
class WarmPoolDescription:
    pool: WarmPool | None
    instances: Page[WarmInstance]


class WarmPools:
    """The warm pool actions over one store and the runtime."""

    def __init__(self, store: Store, runtime: Runtime) -> None:
        self.store = store
        self.runtime = runtime

    def _group(self, name: str) -> AutoScalingGroup:
        return group_named(self.store.groups(), name)

    def put(
        self,
        group_name: str,
        *,
        max_group_prepared_capacity: int | None = None,
        min_size: int | None = None,
        pool_state: str | None = None,
        reuse_on_scale_in: bool | None = None,
    ) -> WarmPool:
        group = self._group(group_name)
        if self.store.active_instance_refresh(group_name) is not None:
            raise in_progress()  # AWS refuses a new pool configuration mid-refresh
        pool = put_warm_pool(
            group,
            self.store.warm_pools().get(group_name),
            max_group_prepared_capacity=max_group_prepared_capacity,
            min_size=min_size,
            pool_state=pool_state,
            reuse_on_scale_in=reuse_on_scale_in,
        )
        self.store.put_warm_pool(pool)
        return pool

    def describe(
        self, group_name: str, max_records: int | None, next_token: str | None
    ) -> WarmPoolDescription:
        """The pool's configuration (None without one) and its instances, by id."""
        group = self._group(group_name)
        records = self.store.instance_lifecycles(group_name)
        found = [
            WarmInstance(group, i, records[i.instance_id])
            for i in sorted(self.runtime.instances(group_name), key=lambda i: i.instance_id)
            if i.instance_id in records and records[i.instance_id].state.warmed
        ]
        limit = MAX_WARM_POOL_RECORDS if max_records is None else max_records
        if not 1 <= limit <= MAX_WARM_POOL_RECORDS:
            raise ValidationError(
                f"MaxRecords must be between 1 and {MAX_WARM_POOL_RECORDS}, got {limit}."
            )
        page = paging.paginate(
            "warm-pool", found, lambda w: [w.instance.instance_id], limit, next_token
        )
        return WarmPoolDescription(self.store.warm_pools().get(group_name), page)

    def delete(self, group_name: str, *, force_delete: bool = False) -> None:
        """DeleteWarmPool: the pool's instances are terminated on the controller's passes and
        the pool answers ``Status: PendingDelete`` until the last is gone; ``ForceDelete``
        removes the pool at once and leaves its instances to be terminated after."""
        self._group(group_name)
        pool = self.store.warm_pools().get(group_name)
        if pool is None:
            raise ValidationError(f"No warm pool found for Auto Scaling group {group_name}.")
        if force_delete:
            self.store.delete_warm_pool(group_name)
        else:
            self.store.put_warm_pool(replace(pool, pending_delete=True))
