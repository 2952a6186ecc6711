from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from orchestrator.asg import (
    Plan,
    create_auto_scaling_group,
    plan,
    resume_processes,
    set_desired_capacity,
    set_instance_protection,
    suspend_processes,
    update_auto_scaling_group,
)
from orchestrator.asg.termination import seconds_to_next_instance_hour
from orchestrator.errors import ValidationError
from orchestrator.instances import Health, Instance, Lifecycle
from orchestrator.launch_templates import (
    LaunchTemplateData,
    LaunchTemplateError,
    create_launch_template,
)

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
V1 = LaunchTemplateData(image="barista:1")
V2 = LaunchTemplateData(image="barista:2")
TEMPLATES = {"lt": create_launch_template("lt", V1).create_version(V2)}
ZONES = ("az-a", "az-b", "az-c")


def group(desired=0, zones=ZONES, max_size=10, **options):
    return create_auto_scaling_group(
        "g",
        "lt",
        min_size=0,
        max_size=max_size,
        desired_capacity=desired,
        availability_zones=zones,
        launch_template_version="$Latest",
        **options,
    )


def inst(
    instance_id,
    az="az-a",
    *,
    version=2,
    age=1000.0,
    health=Health.HEALTHY,
    template="lt",
    group_name="g",
):
    return Instance(
        instance_id=instance_id,
        group=group_name,
        launch_template=template,
        template_version=version,
        availability_zone=az,
        lifecycle=Lifecycle.ON_DEMAND,
        protected_at_launch=False,
        launched_at=NOW - age,
        health=health,
        container_id=f"c-{instance_id}",
    )


def apply(result: Plan, instances, now=NOW):
    """What the controller would leave behind: terminated gone, launched starting."""
    gone = {t.instance_id for t in result.terminations}
    kept = [i for i in instances if i.instance_id not in gone]
    launched = [
        Instance(
            instance_id=launch.instance_id,
            group="g",
            launch_template=launch.launch_template_name,
            template_version=launch.template_version,
            availability_zone=launch.availability_zone,
            lifecycle=launch.lifecycle,
            protected_at_launch=launch.protected,
            launched_at=now,
            health=Health.STARTING,
            container_id=f"c-{launch.instance_id}",
        )
        for launch in result.launches
    ]
    return kept + launched


def zones_of(result: Plan):
    return [launch.availability_zone for launch in result.launches]


def terminated(result: Plan):
    return [t.instance_id for t in result.terminations]


# --- launching ---------------------------------------------------------------------------


def test_scale_out_spreads_launches_over_zones_with_aws_activity_text():
    result = plan(group(desired=3), TEMPLATES, [], set(), NOW)
    assert zones_of(result) == ["az-a", "az-b", "az-c"]
    assert {launch.template_version for launch in result.launches} == {2}
    assert all(launch.data == V2 for launch in result.launches)
    activity = result.launches[0].activity
    assert activity.description == f"Launching a new EC2 instance: {result.launches[0].instance_id}"
    assert activity.cause == (
        "At 2026-01-01T00:00:00Z an instance was started in response to a difference between "
        "desired and actual capacity, increasing the capacity from 0 to 3."
    )
    assert activity.start_time == NOW
    assert all(launch.instance_id.startswith("i-") for launch in result.launches)
    assert len({launch.instance_id for launch in result.launches}) == 3


def test_launches_go_to_the_zones_with_fewest_instances():
    instances = [inst("i-1", "az-a"), inst("i-2", "az-a"), inst("i-3", "az-c")]
    result = plan(group(desired=6), TEMPLATES, instances, set(), NOW)
    assert zones_of(result) == ["az-b", "az-b", "az-c"]


def test_plan_is_deterministic():
    instances = [inst("i-1", "az-a")]
    assert plan(group(desired=3), TEMPLATES, instances, set(), NOW) == plan(
        group(desired=3), TEMPLATES, list(reversed(instances)), set(), NOW
    )


def test_other_groups_instances_are_ignored():
    other = [inst("i-9", group_name="other")]
    result = plan(group(desired=1), TEMPLATES, other, set(), NOW)
    assert len(result.launches) == 1
    assert result.launches[0].instance_id != "i-9"


def test_new_instances_protected_from_scale_in_are_recorded_as_protected():
    result = plan(
        group(desired=2, new_instances_protected_from_scale_in=True), TEMPLATES, [], set(), NOW
    )
    assert all(launch.protected for launch in result.launches)
    ids = {launch.instance_id for launch in result.launches}
    assert result.protected_instance_ids({"i-old"}) == ids | {"i-old"}


def test_unknown_template_is_refused_like_ec2():
    with pytest.raises(LaunchTemplateError) as error:
        plan(replace(group(desired=1), launch_template_name="nope"), TEMPLATES, [], set(), NOW)
    assert error.value.code == "InvalidLaunchTemplateName.NotFoundException"


# --- scale-in and termination policies ----------------------------------------------------


def test_scale_in_takes_from_the_zone_with_most_instances():
    instances = [
        inst("i-1", "az-a", age=10),
        inst("i-2", "az-b", age=10),
        inst("i-3", "az-b", age=5000),
        inst("i-4", "az-c", age=10),
    ]
    result = plan(group(desired=3), TEMPLATES, instances, set(), NOW)
    assert len(terminated(result)) == 1
    assert terminated(result)[0] in {"i-2", "i-3"}
    termination = result.terminations[0]
    assert (
        termination.activity.description == f"Terminating EC2 instance: {termination.instance_id}"
    )
    assert termination.activity.cause.startswith(
        "At 2026-01-01T00:00:00Z an instance was taken out of service in response to a "
        "difference between desired and actual capacity, shrinking the capacity from 4 to 3."
    )
    assert termination.activity.cause.endswith(
        f"instance {termination.instance_id} was selected for termination."
    )


def test_zone_balance_comes_before_every_policy():
    # OldestInstance would pick i-1, but az-b has more instances.
    instances = [inst("i-1", "az-a", age=9000), inst("i-2", "az-b"), inst("i-3", "az-b")]
    result = plan(
        group(desired=2, zones=("az-a", "az-b"), termination_policies=["OldestInstance"]),
        TEMPLATES,
        instances,
        set(),
        NOW,
    )
    assert terminated(result)[0] in {"i-2", "i-3"}


def one_zone(desired, *policies):
    return group(desired=desired, zones=("az-a",), termination_policies=policies or ["Default"])


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("OldestInstance", "i-old"),
        ("NewestInstance", "i-new"),
        ("OldestLaunchTemplate", "i-v1"),
        ("ClosestToNextInstanceHour", "i-hour"),
    ],
)
def test_each_termination_policy_picks_its_instance(policy, expected):
    instances = [
        inst("i-old", age=20_000),  # 20000 s: 1600 s to its next hour
        inst("i-new", age=10),
        inst("i-v1", version=1, age=500),
        inst("i-hour", age=3590),  # 10 s to its next billed hour
    ]
    result = plan(one_zone(3, policy), TEMPLATES, instances, set(), NOW)
    assert terminated(result) == [expected]


def test_default_prefers_a_different_launch_template_over_an_old_version():
    instances = [
        inst("i-other", template="legacy", version=9),
        inst("i-v1", version=1),
        inst("i-v2", version=2),
    ]
    assert terminated(plan(one_zone(2), TEMPLATES, instances, set(), NOW)) == ["i-other"]


def test_default_then_prefers_the_oldest_version():
    instances = [inst("i-v1", version=1, age=10), inst("i-v2", version=2, age=3590)]
    assert terminated(plan(one_zone(1), TEMPLATES, instances, set(), NOW)) == ["i-v1"]


def test_default_then_prefers_closest_to_the_next_billing_hour():
    instances = [inst("i-1", age=3000), inst("i-2", age=3590), inst("i-3", age=7000)]
    assert seconds_to_next_instance_hour(instances[1], NOW) == pytest.approx(10)
    assert terminated(plan(one_zone(2), TEMPLATES, instances, set(), NOW)) == ["i-2"]


def test_default_breaks_full_ties_deterministically_by_instance_id_hash():
    ids = ["i-a", "i-b", "i-c", "i-d"]
    expected = min(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    for order in (ids, list(reversed(ids))):
        instances = [inst(i, age=100) for i in order]
        assert terminated(plan(one_zone(3), TEMPLATES, instances, set(), NOW)) == [expected]


def test_policies_apply_in_order_each_breaking_the_previous_ones_ties():
    instances = [
        inst("i-1", version=1, age=100),
        inst("i-2", version=1, age=200),
        inst("i-3", version=2, age=9000),
    ]
    result = plan(
        one_zone(2, "OldestLaunchTemplate", "OldestInstance"), TEMPLATES, instances, set(), NOW
    )
    assert terminated(result) == ["i-2"]


# --- protection ----------------------------------------------------------------------------


def test_scale_in_never_terminates_protected_instances():
    instances = [inst("i-1", age=9000), inst("i-2", age=10), inst("i-3", age=20)]
    result = plan(one_zone(1, "OldestInstance"), TEMPLATES, instances, {"i-1"}, NOW)
    assert sorted(terminated(result)) == ["i-2", "i-3"]


def test_only_protected_instances_above_desired_means_nothing_to_do_and_a_note():
    instances = [inst("i-1"), inst("i-2")]
    result = plan(one_zone(0), TEMPLATES, instances, {"i-1", "i-2"}, NOW)
    assert result.is_empty
    assert result.notes == (
        "Could not scale in to 0: the 2 remaining instances are protected from scale-in.",
    )


def test_a_fully_protected_busiest_zone_is_skipped():
    instances = [inst("i-1", "az-a"), inst("i-2", "az-a"), inst("i-3", "az-b")]
    result = plan(
        group(desired=2, zones=("az-a", "az-b")), TEMPLATES, instances, {"i-1", "i-2"}, NOW
    )
    assert terminated(result) == ["i-3"]


def test_set_instance_protection_limits_and_membership():
    g = group(desired=1)
    g = set_instance_protection(g, ["i-1", "i-2"], protected_from_scale_in=True)
    assert g.protected_instance_ids == {"i-1", "i-2"}
    g = set_instance_protection(g, ["i-1"], protected_from_scale_in=False)
    assert g.protected_instance_ids == {"i-2"}
    set_instance_protection(g, [f"i-{n}" for n in range(50)], protected_from_scale_in=True)
    with pytest.raises(ValidationError, match="less than or equal to 50"):
        set_instance_protection(g, [f"i-{n}" for n in range(51)], protected_from_scale_in=True)
    with pytest.raises(ValidationError) as error:
        set_instance_protection(g, ["i-x"], protected_from_scale_in=True, member_ids=["i-1"])
    assert error.value.message == "The instance i-x is not part of Auto Scaling group g."


# --- health --------------------------------------------------------------------------------


def test_unhealthy_instance_is_kept_during_the_grace_period():
    instances = [inst("i-1", age=100, health=Health.UNHEALTHY)]
    result = plan(group(desired=1, health_check_grace_period=300), TEMPLATES, instances, set(), NOW)
    assert result.is_empty


@pytest.mark.parametrize(
    ("check_type", "text"),
    [
        ("EC2", "an EC2 instance status check failure."),
        ("ELB", "an ELB system health check failure."),
    ],
)
def test_unhealthy_instance_is_replaced_after_the_grace_period(check_type, text):
    instances = [inst("i-1", age=400, health=Health.UNHEALTHY)]
    g = group(desired=1, health_check_grace_period=300, health_check_type=check_type)
    result = plan(g, TEMPLATES, instances, set(), NOW)
    assert terminated(result) == ["i-1"]
    assert len(result.launches) == 1
    assert text in result.terminations[0].reason
    assert "increasing the capacity from 0 to 1" in result.launches[0].activity.cause
    assert result.activities[0] == result.terminations[0].activity


def test_stopped_instance_is_replaced_even_inside_the_grace_period():
    instances = [inst("i-1", age=10, health=Health.STOPPED), inst("i-2", "az-b")]
    g = group(desired=2, zones=("az-a", "az-b"), health_check_grace_period=300)
    result = plan(g, TEMPLATES, instances, set(), NOW)
    assert terminated(result) == ["i-1"]
    assert zones_of(result) == ["az-a"]
    assert "indicating it has been terminated or stopped" in result.terminations[0].reason


def test_protected_unhealthy_instances_are_still_replaced():
    instances = [inst("i-1", age=400, health=Health.UNHEALTHY)]
    result = plan(group(desired=1), TEMPLATES, instances, {"i-1"}, NOW)
    assert terminated(result) == ["i-1"]


# --- maximum instance lifetime -------------------------------------------------------------

DAY = 86_400


def test_the_oldest_instance_past_its_lifetime_is_replaced_first():
    instances = [inst("i-1", "az-a", age=DAY + 5), inst("i-2", "az-b", age=DAY + 50)]
    g = group(desired=2, zones=("az-a", "az-b"), max_instance_lifetime=DAY)
    result = plan(g, TEMPLATES, instances, set(), NOW)
    assert terminated(result) == ["i-2"]
    assert zones_of(result) == ["az-b"]  # its replacement, in the zone it leaves
    assert result.terminations[0].reason.endswith(
        "an instance was taken out of service in response to a maximum instance lifetime check."
    )
    assert "increasing the capacity from 1 to 2" in result.launches[0].activity.cause


def test_lifetime_replacements_go_one_at_a_time_until_the_replacement_is_healthy():
    instances = [inst("i-1", "az-a", age=DAY + 5), inst("i-2", "az-b", age=DAY + 50)]
    g = group(desired=2, zones=("az-a", "az-b"), max_instance_lifetime=DAY)
    first = plan(g, TEMPLATES, instances, set(), NOW)
    after = apply(first, instances)
    # The replacement is still starting: i-1 waits, though past its lifetime too.
    assert plan(g, TEMPLATES, after, set(), NOW + 1).is_empty
    healthy = [replace(i, health=Health.HEALTHY) for i in after]
    assert terminated(plan(g, TEMPLATES, healthy, set(), NOW + 2)) == ["i-1"]


def test_lifetime_replaces_at_most_a_tenth_of_a_large_group_at_a_time():
    # 25 instances all past their lifetime: 2 at a time (10 % of 25, rounded down), oldest first.
    instances = [inst(f"i-{n:02d}", "az-a", age=DAY + n) for n in range(25)]
    g = group(desired=25, zones=("az-a",), max_instance_lifetime=DAY, max_size=30)
    result = plan(g, TEMPLATES, instances, set(), NOW)
    assert terminated(result) == ["i-24", "i-23"]
    assert len(result.launches) == 2
    after = apply(result, instances)
    # The next batch waits for the two replacements to be healthy.
    assert plan(g, TEMPLATES, after, set(), NOW + 1).is_empty
    healthy = [replace(i, health=Health.HEALTHY) for i in after]
    assert terminated(plan(g, TEMPLATES, healthy, set(), NOW + 2)) == ["i-22", "i-21"]
    # Under 20 instances it stays one at a time.
    small = group(desired=19, zones=("az-a",), max_instance_lifetime=DAY, max_size=30)
    assert len(terminated(plan(small, TEMPLATES, instances[:19], set(), NOW))) == 1


def test_no_lifetime_replacement_while_an_instance_is_still_leaving():
    instances = [inst("i-1", age=DAY + 5), inst("i-2", age=10)]
    g = one_zone(1, "Default")
    g = update_auto_scaling_group(g, max_instance_lifetime=DAY)
    result = plan(g, TEMPLATES, instances, set(), NOW, leaving={"i-2"})
    assert result.is_empty


def test_instances_younger_than_the_lifetime_or_protected_are_kept():
    instances = [inst("i-1", age=DAY - 1), inst("i-2", age=DAY * 3)]
    g = group(desired=2, zones=("az-a",), max_instance_lifetime=DAY)
    assert plan(g, TEMPLATES, instances, {"i-2"}, NOW).is_empty


def test_max_instance_lifetime_is_zero_or_at_least_a_day_and_zero_clears_it():
    with pytest.raises(ValidationError, match="either 0 or a number equal to or greater than"):
        group(desired=1, max_instance_lifetime=DAY - 1)
    g = group(desired=1, max_instance_lifetime=0)
    assert g.max_instance_lifetime is None
    g = update_auto_scaling_group(g, max_instance_lifetime=2 * DAY)
    assert g.max_instance_lifetime == 2 * DAY
    assert update_auto_scaling_group(g, min_size=0).max_instance_lifetime == 2 * DAY
    assert update_auto_scaling_group(g, max_instance_lifetime=0).max_instance_lifetime is None


# --- suspended processes -------------------------------------------------------------------


def test_suspended_launch_launches_nothing_and_says_so():
    g = suspend_processes(group(desired=2), ["Launch"])
    result = plan(g, TEMPLATES, [], set(), NOW)
    assert result.is_empty
    assert result.notes == ("Launch is suspended: capacity stays at 0 of 2.",)
    assert len(plan(resume_processes(g, ["Launch"]), TEMPLATES, [], set(), NOW).launches) == 2


def test_suspended_terminate_keeps_extra_instances():
    g = suspend_processes(group(desired=0), ["Terminate"])
    assert plan(g, TEMPLATES, [inst("i-1")], set(), NOW).is_empty


@pytest.mark.parametrize("process", ["HealthCheck", "ReplaceUnhealthy"])
def test_suspended_health_processes_keep_unhealthy_instances(process):
    g = suspend_processes(group(desired=1), [process])
    result = plan(g, TEMPLATES, [inst("i-1", age=400, health=Health.UNHEALTHY)], set(), NOW)
    assert result.is_empty


def test_stopped_instance_is_not_capacity_even_when_replacement_is_suspended():
    g = suspend_processes(group(desired=1), ["ReplaceUnhealthy"])
    result = plan(g, TEMPLATES, [inst("i-1", health=Health.STOPPED)], set(), NOW)
    assert terminated(result) == []
    assert len(result.launches) == 1
    assert "i-1 is unhealthy but is not replaced" in result.notes[0]


def test_az_rebalance_moves_instances_to_empty_zones():
    instances = [inst(f"i-{n}", "az-a") for n in range(3)]
    result = plan(group(desired=3), TEMPLATES, instances, set(), NOW)
    assert sorted(zones_of(result)) == ["az-b", "az-c"]
    assert len(terminated(result)) == 2
    assert "balance instances in zones az-a" in result.launches[0].activity.cause


def test_az_rebalance_suspended_leaves_zones_unbalanced():
    instances = [inst(f"i-{n}", "az-a") for n in range(3)]
    g = suspend_processes(group(desired=3), ["AZRebalance"])
    assert plan(g, TEMPLATES, instances, set(), NOW).is_empty


def test_az_rebalance_empties_a_zone_the_group_no_longer_uses():
    instances = [inst("i-1", "az-gone"), inst("i-2", "az-a")]
    result = plan(group(desired=2, zones=("az-a", "az-b")), TEMPLATES, instances, set(), NOW)
    assert terminated(result) == ["i-1"]
    assert zones_of(result) == ["az-b"]


# --- zone outage (a runtime with hosts per zone reports unavailable zones) -----------------


def test_an_unavailable_zones_unhealthy_instances_are_replaced_in_the_other_zones():
    lost = [
        inst("i-c1", "az-c", health=Health.UNHEALTHY),
        inst("i-c2", "az-c", health=Health.UNHEALTHY),
    ]
    kept = [inst(f"i-{z}{n}", f"az-{z}") for z in ("a", "b") for n in (1, 2)]
    result = plan(group(desired=6), TEMPLATES, kept + lost, set(), NOW, unavailable_zones={"az-c"})
    assert sorted(terminated(result)) == ["i-c1", "i-c2"]
    assert sorted(zones_of(result)) == ["az-a", "az-b"]
    # Applied, the group holds 3 and 3 and does not try to move anything into az-c.
    after = plan(
        group(desired=6),
        TEMPLATES,
        apply(result, kept + lost),
        set(),
        NOW,
        unavailable_zones={"az-c"},
    )
    assert after.is_empty


def test_a_returning_zone_gets_instances_back_by_az_rebalance():
    instances = [inst(f"i-{z}{n}", z) for z in ("az-a", "az-b") for n in range(3)]
    result = plan(group(desired=6), TEMPLATES, instances, set(), NOW)
    assert zones_of(result) == ["az-c", "az-c"]
    assert len(terminated(result)) == 2
    assert "balance instances in zones" in result.launches[0].activity.cause


def test_no_available_zone_means_no_launch_and_a_note_saying_so():
    result = plan(group(desired=2), TEMPLATES, [], set(), NOW, unavailable_zones=set(ZONES))
    assert result.is_empty
    assert "az-a, az-b, az-c unavailable" in result.notes[0]


# --- validation ----------------------------------------------------------------------------


def test_desired_outside_min_max_is_refused_with_aws_message():
    with pytest.raises(ValidationError) as error:
        create_auto_scaling_group(
            "g", "lt", min_size=1, max_size=3, desired_capacity=5, availability_zones=["a"]
        )
    assert error.value.code == "ValidationError"
    assert error.value.message == (
        "Desired capacity:5 must be between the specified min size:1 and max size:3"
    )


def test_min_above_max_is_refused_with_aws_message():
    with pytest.raises(ValidationError) as error:
        create_auto_scaling_group("g", "lt", min_size=2, max_size=1, availability_zones=["a"])
    assert error.value.message == "Max bound, 1, must be greater than or equal to min bound, 2"


def test_defaults_match_the_api():
    g = create_auto_scaling_group("g", "lt", min_size=1, max_size=3, availability_zones=["a"])
    assert g.desired_capacity == 1
    assert g.health_check_grace_period == 0
    assert g.default_cooldown == 300
    assert g.termination_policies == ("Default",)
    assert g.launch_template_version == "$Default"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"termination_policies": ["Oldest"]}, "Termination policy Oldest is not valid"),
        ({"availability_zones": []}, "At least one Availability Zone or VPC Subnet is required."),
        ({"health_check_type": "TCP"}, "Invalid HealthCheckType: TCP"),
    ],
)
def test_bad_definitions_are_refused(options, message):
    arguments = {"min_size": 0, "max_size": 1, "availability_zones": ["a"]} | options
    with pytest.raises(ValidationError, match=message):
        create_auto_scaling_group("g", "lt", **arguments)


def test_set_desired_capacity_never_moves_min_or_max():
    g = group(desired=1)
    assert set_desired_capacity(g, 4).desired_capacity == 4
    with pytest.raises(ValidationError) as error:
        set_desired_capacity(g, 11)
    assert error.value.message == (
        "New SetDesiredCapacity value 11 is above max value 10 for the AutoScalingGroup."
    )
    g = update_auto_scaling_group(g, min_size=1)
    with pytest.raises(ValidationError, match="value 0 is below min value 1"):
        set_desired_capacity(g, 0)


def test_update_validates_the_result():
    with pytest.raises(ValidationError, match="Desired capacity:1 must be between"):
        update_auto_scaling_group(group(desired=3), min_size=2, max_size=3, desired_capacity=1)
    with pytest.raises(ValidationError, match="Max bound, 1, must be greater"):
        update_auto_scaling_group(group(desired=1), min_size=2, max_size=1)


def test_unknown_process_names_are_refused():
    with pytest.raises(ValidationError, match="Nap"):
        suspend_processes(group(), ["Nap"])


# --- idempotence ---------------------------------------------------------------------------

SCENARIOS = {
    "scale out from nothing": (group(desired=5), [], set()),
    "scale in across zones": (
        group(desired=2),
        [inst(f"i-{n}", ZONES[n % 3], age=100 * n) for n in range(7)],
        set(),
    ),
    "replace unhealthy and stopped": (
        group(desired=3, health_check_grace_period=300),
        [
            inst("i-1", "az-a", age=400, health=Health.UNHEALTHY),
            inst("i-2", "az-b", age=10, health=Health.UNHEALTHY),
            inst("i-3", "az-c", health=Health.STOPPED),
        ],
        set(),
    ),
    "protected above desired": (
        group(desired=1),
        [inst("i-1", "az-a"), inst("i-2", "az-a"), inst("i-3", "az-b")],
        {"i-1", "i-2"},
    ),
    "rebalance with a stray zone and old versions": (
        group(desired=4, termination_policies=["OldestLaunchTemplate"]),
        [inst(f"i-{n}", "az-a", version=1 + n % 2) for n in range(4)] + [inst("i-9", "az-x")],
        set(),
    ),
    "launch suspended": (
        suspend_processes(group(desired=3), ["Launch"]),
        [inst("i-1", health=Health.STOPPED)],
        set(),
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_planning_the_applied_plan_yields_an_empty_plan(name):
    g, instances, protected = SCENARIOS[name]
    first = plan(g, TEMPLATES, instances, protected, NOW)
    after = apply(first, instances)
    protected = first.protected_instance_ids(protected)
    assert plan(g, TEMPLATES, after, protected, NOW).is_empty


def test_update_changes_only_the_given_fields():
    g = update_auto_scaling_group(
        group(desired=1),
        availability_zones=["az-b"],
        health_check_type="ELB",
        health_check_grace_period=60,
        launch_template_version="1",
    )
    assert (g.availability_zones, g.health_check_type, g.health_check_grace_period) == (
        ("az-b",),
        "ELB",
        60,
    )
    assert (g.desired_capacity, g.launch_template_version) == (1, "1")
    assert plan(g, TEMPLATES, [], set(), NOW).launches[0].template_version == 1


def test_new_bounds_without_desired_pull_desired_inside_them_as_aws_does():
    group = create_auto_scaling_group(
        "g", "lt", min_size=1, max_size=5, desired_capacity=3, availability_zones=["a"]
    )
    assert update_auto_scaling_group(group, min_size=4).desired_capacity == 4
    assert update_auto_scaling_group(group, max_size=2).desired_capacity == 2
    assert update_auto_scaling_group(group, max_size=4).desired_capacity == 3
