"""Availability Zones and the one subnet Barista gives each, for ``VPCZoneIdentifier``.

AWS places a group in subnets, each in one zone; Barista has no VPC, only zone names on
container labels. So each zone has exactly one subnet, and the subnet id is a function of the
zone, shaped like AWS's (``subnet-`` and 17 hex digits) and readable at a glance:

* ``az-a`` … ``az-f`` (the zones the demos use): ``subnet-0`` followed by the zone's letter
  sixteen times, ``az-a`` → ``subnet-0aaaaaaaaaaaaaaaa``, ``az-b`` → ``subnet-0bbbbbbbbbbbbbbbb``;
* any other zone name: ``subnet-0`` and the first 16 hex digits of the name's SHA-256.

A ``VPCZoneIdentifier`` (comma-separated subnet ids) therefore names a set of zones, and a
group's zones always answer as one. Subnets of ``az-a`` … ``az-f`` are always known; a derived
subnet is known once some group uses its zone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from orchestrator.errors import ValidationError

ZONES = tuple(f"az-{letter}" for letter in "abcdef")


def subnet_id(zone: str) -> str:
    """The one subnet of ``zone``."""
    if zone in ZONES:
        return "subnet-0" + zone[-1] * 16
    return "subnet-0" + hashlib.sha256(zone.encode()).hexdigest()[:16]


def vpc_zone_identifier(zones: Iterable[str]) -> str:
    """The comma-separated subnets of ``zones``, in the group's zone order."""
    return ",".join(subnet_id(zone) for zone in zones)


def zones_of(identifier: str, known_zones: Iterable[str] = ()) -> tuple[str, ...]:
    """The zones a ``VPCZoneIdentifier`` names; ``known_zones`` adds zones whose derived
    subnets are valid too. An unknown subnet is refused with AWS's message."""
    by_subnet = {subnet_id(zone): zone for zone in (*ZONES, *known_zones)}
    zones: list[str] = []
    for subnet in (part.strip() for part in identifier.split(",")):
        if not subnet:
            continue
        zone = by_subnet.get(subnet)
        if zone is None:
            raise ValidationError(f"The subnet ID '{subnet}' does not exist")
        zones.append(zone)
    return tuple(dict.fromkeys(zones))
