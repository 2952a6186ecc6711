"""Placement: constraints bind, strategies rank, as ECS documents them."""

from __future__ import annotations

from orchestrator.ecs.model import ContainerInstance, PlacementConstraint, PlacementStrategy
from orchestrator.ecs.placement import Load, place, with_task

BINPACK = (PlacementStrategy("binpack", "memory"),)
SPREAD_AZ = (PlacementStrategy("spread", "attribute:ecs.availability-zone"),)


def instance(name: str, zone: str = "az-a", memory: int = 1024, **attrs: str) -> ContainerInstance:
    return ContainerInstance(
        name, "c", cpu=1024, memory=memory, availability_zone=zone, attributes=tuple(attrs.items())
    )


def place_many(count: int, instances: list[ContainerInstance], **options: object) -> list[str]:
    loads: dict[str, Load] = {}
    placed = []
    for _ in range(count):
        result = place(0, 256, "service:web", instances, loads, **options)  # type: ignore[arg-type]
        assert result.instance is not None, result.reason
        name = result.instance.instance_id
        loads[name] = with_task(loads.get(name, Load()), 0, 256, "service:web")
        placed.append(name)
    return placed


def test_binpack_fills_the_instance_with_least_memory_left_first():
    instances = [instance("i-big", memory=2048), instance("i-small", memory=1024)]
    assert place_many(5, instances, strategies=BINPACK) == [
        "i-small",
        "i-small",
        "i-small",
        "i-small",
        "i-big",
    ]


def test_spread_by_zone_alternates_zones():
    instances = [instance("i-1", "az-a"), instance("i-2", "az-a"), instance("i-3", "az-b")]
    placed = place_many(4, instances, strategies=SPREAD_AZ)
    zones = [{"i-1": "az-a", "i-2": "az-a", "i-3": "az-b"}[p] for p in placed]
    assert sorted(zones) == ["az-a", "az-a", "az-b", "az-b"]
    assert zones[0] != zones[1]


def test_spread_by_instance_then_binpack():
    instances = [instance("i-1"), instance("i-2"), instance("i-3")]
    placed = place_many(3, instances, strategies=(PlacementStrategy("spread", "instanceId"),))
    assert sorted(placed) == ["i-1", "i-2", "i-3"]


def test_distinct_instance_refuses_a_second_task_on_an_instance():
    instances = [instance("i-1"), instance("i-2")]
    distinct = [PlacementConstraint("distinctInstance")]
    placed = place_many(2, instances, strategies=BINPACK, constraints=distinct)
    assert sorted(placed) == ["i-1", "i-2"]
    loads = {"i-1": Load(0, 256, ("service:web",)), "i-2": Load(0, 256, ("service:web",))}
    result = place(0, 256, "service:web", instances, loads, constraints=distinct)
    assert result.instance is None
    assert "distinctInstance" in result.reason


def test_member_of_restricts_to_matching_attributes():
    instances = [
        instance("i-1", instance_type="t3.micro"),
        instance("i-2", instance_type="m5.large"),
    ]
    member = [PlacementConstraint("memberOf", "attribute:instance_type == m5.large")]
    assert place_many(2, instances, constraints=member) == ["i-2", "i-2"]
    member_in = [PlacementConstraint("memberOf", "attribute:ecs.availability-zone in [az-b, az-c]")]
    result = place(0, 256, "g", instances, {}, constraints=member_in)
    assert result.instance is None


def test_an_unplaceable_task_names_the_closest_instance_and_what_it_lacks():
    result = place(0, 4096, "g", [instance("i-1", memory=1024)], {})
    assert result.instance is None
    assert result.reason == (
        "no container instance met all of its requirements. The closest matching "
        "container-instance i-1 has insufficient memory available."
    )
    assert "No Container Instances" in place(0, 1, "g", [], {}).reason
