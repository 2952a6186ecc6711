"""The load generator's side door refuses an oversized ``POST /pattern`` without reading it."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.testclient import TestClient

from services.lifecycle import side_door_app
from services.loadgen import MAX_PATTERN_BYTES, pattern_routes
from services.loadgen.patterns import Pattern
from services.loadgen.poster import Result
from services.loadgen.runner import LoadGenerator


def accept(_body: bytes) -> Result:
    return Result.ACCEPTED


def client() -> tuple[TestClient, LoadGenerator]:
    generator = LoadGenerator(Pattern(rate=3), accept)
    return TestClient(side_door_app(lambda: True, pattern_routes(generator))), generator


def test_an_oversized_pattern_is_refused_with_413_and_changes_nothing() -> None:
    side_door, generator = client()
    padding = " " * MAX_PATTERN_BYTES
    response = side_door.post("/pattern", content=f'{{"rate": 9}}{padding}'.encode())
    assert response.status_code == 413
    assert str(MAX_PATTERN_BYTES) in response.json()["error"]
    assert generator.pattern == Pattern(rate=3)


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit() -> None:
    side_door, generator = client()

    def chunks() -> Iterator[bytes]:
        yield b'{"rate": 9}'
        for _ in range(64):
            yield b" " * 1024

    response = side_door.post("/pattern", content=chunks())
    assert response.status_code == 413
    assert generator.pattern == Pattern(rate=3)


def test_a_pattern_within_the_limit_still_applies() -> None:
    side_door, generator = client()
    assert side_door.post("/pattern", json={"rate": 9}).status_code == 200
    assert generator.pattern == Pattern(rate=9)
