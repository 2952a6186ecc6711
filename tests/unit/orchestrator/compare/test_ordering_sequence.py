from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

from orchestrator.compare.ordering import GROUPS, PER_GROUP, groups_in_order, sequence


def test_the_mix_keeps_each_groups_own_order_and_is_reproducible():
    mixed = sequence()
    assert mixed == sequence()
    assert len(mixed) == GROUPS * PER_GROUP
    per_group: dict[str, list[int]] = defaultdict(list)
    for group, n in mixed:
        per_group[group].append(n)
    assert all(numbers == list(range(PER_GROUP)) for numbers in per_group.values())
    assert len(per_group) == GROUPS


def test_the_mix_puts_some_messages_of_one_group_side_by_side():
    mixed = sequence()
    assert any(a[0] == b[0] for a, b in pairwise(mixed))


def test_groups_in_order_counts_only_complete_ascending_groups():
    in_order = [("a", n) for n in range(PER_GROUP)]
    swapped = [("b", 1), ("b", 0), *[("b", n) for n in range(2, PER_GROUP)]]
    duplicated = [("c", 0), *[("c", n) for n in range(PER_GROUP)]]
    assert groups_in_order(in_order + swapped + duplicated) == 1
