"""The barista CLI follows an answer's pages, as the AWS CLI does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.cli._client import call_all_pages


class Pages:
    """A service answering three pages of ECS-style ``nextToken`` pagination."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def call(self, service: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        self.requests.append(dict(params))
        token = params.get("nextToken") or params.get("Marker")
        return self.pages[int(token) if token else 0]


def test_every_page_is_joined_and_the_token_dropped() -> None:
    service = Pages(
        [
            {"serviceArns": ["a"], "nextToken": "1"},
            {"serviceArns": ["b"], "nextToken": "2"},
            {"serviceArns": ["c"]},
        ]
    )
    answer = call_all_pages(service, "ecs", "ListServices", {"cluster": "shop"})
    assert answer == {"serviceArns": ["a", "b", "c"]}
    assert [r.get("nextToken") for r in service.requests] == [None, "1", "2"]


def test_a_page_the_caller_asked_for_is_the_only_one_fetched() -> None:
    service = Pages([{"Rules": ["x"], "NextMarker": "1"}, {"Rules": ["y"]}])
    answer = call_all_pages(service, "elbv2", "DescribeRules", {"Marker": "0"})
    assert answer == {"Rules": ["x"], "NextMarker": "1"}
    assert len(service.requests) == 1


def test_a_repeated_token_stops_the_walk() -> None:
    service = Pages([{"Rules": ["x"], "NextMarker": "0"}])
    assert call_all_pages(service, "elbv2", "DescribeRules", {})["Rules"] == ["x", "x"]
