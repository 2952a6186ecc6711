"""StartInstanceRefresh, DescribeInstanceRefreshes, CancelInstanceRefresh and
RollbackInstanceRefresh on the store, with AWS's rules and errors.

Each answers at once; the controller advances the refresh on its passes
(``orchestrator.asg.instance_refresh.advance``). A DesiredConfiguration's launch template
becomes the group's when the refresh starts, and the one before is kept for
RollbackInstanceRefresh (AWS writes it to the group when the refresh succeeds; either way the
replacements launch from it, and a rollback restores the previous one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from orchestrator.asg import paging
from orchestrator.asg.group import AutoScalingGroup, group_named
from orchestrator.asg.instance_refresh import (
    InstanceRefresh,
    LaunchTemplateChoice,
    Preferences,
    RefreshStatus,
    begin_rollback,
    new_refresh_id,
    to_replace,
)
from orchestrator.asg.lifecycle import InstanceLifecycle
from orchestrator.asg.paging import Page
from orchestrator.asg.store import Store
from orchestrator.errors import AwsError, ValidationError
from orchestrator.instances import Instance
from orchestrator.launch_templates import DEFAULT, LaunchTemplate, find, find_template
from orchestrator.runtime import Runtime

MAX_REFRESH_RECORDS = 100


def in_progress() -> AwsError:
    return AwsError(
        "InstanceRefreshInProgress",
        "An Instance Refresh is already in progress and blocks the execution of this "
        "Instance Refresh.",
    )


def not_found(group: str) -> AwsError:
    return AwsError(
        "ActiveInstanceRefreshNotFound",
        f"No in progress or pending Instance Refresh found for Auto Scaling group {group}",
    )


def rollback_target(
    group: AutoScalingGroup,
    templates: Mapping[str, LaunchTemplate],
    instances: Sequence[Instance],
    records: Mapping[str, InstanceLifecycle],
) -> tuple[str, ...]:
    """The members not on the group's (restored) template version: a rollback replaces them."""
    template = find(templates, group.launch_template_name)
    version, _ = template.resolve(group.launch_template_version)
    return to_replace(
        group, instances, records, version, template.launch_template_name, skip_matching=True
    )


class InstanceRefreshes:
    """The instance refresh actions over one store and the runtime."""

    def __init__(self, store: Store, runtime: Runtime) -> None:
        self.store = store
        self.runtime = runtime

    def _group(self, name: str) -> AutoScalingGroup:
        return group_named(self.store.groups(), name)

    def start(
        self,
        group_name: str,
        prefs: Preferences,
        *,
        launch_template_name: str | None = None,
        launch_template_id: str | None = None,
        version: str | None = None,
    ) -> InstanceRefresh:
        group = self._group(group_name)
        if self.store.active_instance_refresh(group_name) is not None:
            raise in_progress()
        templates = self.store.launch_templates()
        previous = desired = None
        if launch_template_name is not None or launch_template_id is not None:
            try:
                template = find_template(templates, launch_template_name, launch_template_id)
                template.resolve(version or DEFAULT)
            except AwsError as error:
                raise ValidationError(
                    f"You must use a valid fully-formed launch template. {error.message}"
                ) from None
            previous = LaunchTemplateChoice(
                group.launch_template_name, group.launch_template_version
            )
            desired = LaunchTemplateChoice(template.launch_template_name, version or DEFAULT)
            group = replace(
                group,
                launch_template_name=desired.launch_template_name,
                launch_template_version=desired.version,
            )
        template = find(templates, group.launch_template_name)
        resolved, _ = template.resolve(group.launch_template_version)
        replacing = to_replace(
            group,
            self.runtime.instances(group_name),
            self.store.instance_lifecycles(group_name),
            resolved,
            template.launch_template_name,
            skip_matching=prefs.skip_matching,
        )
        refresh = InstanceRefresh(
            instance_refresh_id=new_refresh_id(),
            auto_scaling_group_name=group_name,
            status=RefreshStatus.PENDING,
            start_time=self.runtime.now(),
            preferences=prefs,
            to_replace=replacing,
            total=len(replacing),
            desired=desired,
            previous=previous,
        )
        self.store.put_group(group)
        self.store.put_instance_refresh(refresh)
        return refresh

    def describe(
        self,
        group_name: str,
        refresh_ids: Sequence[str],
        max_records: int | None,
        next_token: str | None,
    ) -> Page[InstanceRefresh]:
        """Newest first (AWS lists the group's refreshes of the last six weeks)."""
        self._group(group_name)
        wanted = set(refresh_ids)
        found = [
            r
            for r in self.store.instance_refreshes(group_name)
            if not wanted or r.instance_refresh_id in wanted
        ]
        limit = MAX_REFRESH_RECORDS if max_records is None else max_records
        if not 1 <= limit <= MAX_REFRESH_RECORDS:
            raise ValidationError(
                f"MaxRecords must be between 1 and {MAX_REFRESH_RECORDS}, got {limit}."
            )
        return paging.paginate(
            "instance-refreshes",
            found,
            lambda r: [-r.start_time, r.instance_refresh_id],
            limit,
            next_token,
        )

    def cancel(self, group_name: str) -> InstanceRefresh:
        """Pending ends at once; otherwise Cancelling until the replacements under way end."""
        self._group(group_name)
        refresh = self.store.active_instance_refresh(group_name)
        if refresh is None or refresh.status is RefreshStatus.CANCELLING:
            raise not_found(group_name)
        now = self.runtime.now()
        if refresh.status is RefreshStatus.PENDING:
            cancelled = replace(refresh, status=RefreshStatus.CANCELLED, end_time=now)
        else:
            cancelled = replace(refresh, status=RefreshStatus.CANCELLING)
        self.store.put_instance_refresh(cancelled)
        return cancelled

    def rollback(self, group_name: str) -> InstanceRefresh:
        """The group's previous launch template comes back and the instances already
        replaced are replaced again, onto it. Only a refresh that changed the launch template
        (a DesiredConfiguration) can be rolled back."""
        group = self._group(group_name)
        refresh = self.store.active_instance_refresh(group_name)
        if refresh is None or refresh.status in (
            RefreshStatus.CANCELLING,
            RefreshStatus.ROLLBACK_IN_PROGRESS,
        ):
            raise not_found(group_name)
        if refresh.previous is None:
            raise AwsError(
                "IrreversibleInstanceRefresh",
                "The instance refresh cannot be rolled back: it was started without a "
                "DesiredConfiguration, so there is no previous configuration to restore.",
            )
        rolled = restore_previous(self.store, self.runtime, group, refresh, "Rollback requested.")
        return rolled


def restore_previous(
    store: Store, runtime: Runtime, group: AutoScalingGroup, refresh: InstanceRefresh, reason: str
) -> InstanceRefresh:
    """Put the group's previous template back and begin the rollback (the user's, or
    AutoRollback's after a failure)."""
    assert refresh.previous is not None
    restored = replace(
        group,
        launch_template_name=refresh.previous.launch_template_name,
        launch_template_version=refresh.previous.version,
    )
    store.put_group(restored)
    name = group.auto_scaling_group_name
    replacing = rollback_target(
        restored, store.launch_templates(), runtime.instances(name), store.instance_lifecycles(name)
    )
    rolled = begin_rollback(refresh, replacing, runtime.now(), reason)
    store.put_instance_refresh(rolled)
    return rolled
