"""The pickup board: each ready order called out once, pushed to every open page as a
server-sent event, and its page, board and the subscriber's /stats on the side door."""

from __future__ import annotations

import asyncio
import json
import threading

from starlette.testclient import TestClient

from services.lifecycle import side_door_app
from services.orders import EventKind
from services.subscriber import stats_route
from services.subscriber.consumer import ConsumerStats, Subscriber, Target
from services.subscriber.pickup import PickupBoard, sse, ticket_number
from services.subscriber.roles import Tally, role_for
from tests.unit.services.fakes_subscriber import event

PLACED, READY = EventKind.PLACED, EventKind.READY
ORDER = "4f1c0b7e9a2d4c6b8e0f1a2b3c4d5e6f"


def test_a_ready_order_is_called_out_once_with_the_customer_s_name():
    board = PickupBoard()
    board.handle(event(PLACED, ORDER, "c042"))
    assert board.board() == []
    ready = event(READY, ORDER, "c042", cups=2, barista="barista-1", customer_name="Ada")
    board.handle(ready)
    board.handle(ready)  # redelivered: not a second call
    (call,) = board.board()
    assert call.text() == "order 4D5E6F ready for Ada"
    assert (call.cups, call.barista, board.announced) == (2, "barista-1", 1)
    # An event from before names were published shows the customer id.
    board.handle(event(READY, "o2", "c007"))
    assert [c.text() for c in board.board()] == ["order O2 ready for c007", call.text()]


def test_the_board_keeps_the_last_calls_newest_first():
    board = PickupBoard(size=3)
    for n in range(5):
        board.handle(event(READY, f"order-{n}"))
    assert [c.order_id for c in board.board()] == ["order-4", "order-3", "order-2"]


def test_ticket_numbers_are_the_order_id_s_last_six_characters():
    assert ticket_number(ORDER) == "4D5E6F"
    assert ticket_number("o1") == "O1"


def test_server_sent_events_are_single_lines_of_json():
    text = sse("ready", {"text": "line one\nline two"})
    assert text.startswith("event: ready\ndata: ")
    assert text.endswith("\n\n")
    assert text.count("\n") == 3
    assert json.loads(text.split("data: ", 1)[1]) == {"text": "line one\nline two"}


def test_an_open_page_gets_the_board_then_each_call_as_it_happens():
    board = PickupBoard()
    board.handle(event(READY, "before", customer_name="Grace"))

    async def read_stream() -> list[str]:
        stream = board.stream()
        chunks = [await anext(stream), await anext(stream)]  # retry, then the board
        assert board.pages == 1
        # The consumer thread hands the event over while the page waits for it.
        thread = threading.Thread(
            target=board.handle, args=(event(READY, "after", customer_name="Alan"),)
        )
        thread.start()
        chunks.append(await asyncio.wait_for(anext(stream), 5))
        thread.join()
        await stream.aclose()
        return chunks

    retry, first, pushed = asyncio.run(read_stream())
    assert retry.startswith("retry: ")
    assert first.startswith("event: board\n")
    assert [c["text"] for c in json.loads(first.split("data: ")[1])["calls"]] == [
        "order BEFORE ready for Grace"
    ]
    assert pushed.startswith("event: ready\n")
    assert json.loads(pushed.split("data: ")[1])["text"] == "order AFTER ready for Alan"
    assert board.pages == 0, "a closed page is forgotten"


def test_a_page_that_falls_behind_loses_its_oldest_calls(monkeypatch):
    from services.subscriber import pickup  # noqa: PLC0415

    monkeypatch.setattr(pickup, "PAGE_BACKLOG", 2)
    board = PickupBoard()

    async def behind() -> list[str]:
        stream = board.stream()
        await anext(stream)
        await anext(stream)
        for n in range(4):
            board.handle(event(READY, f"o{n}"))
        await asyncio.sleep(0)  # let the loop run the handed-over calls
        got = [await anext(stream), await anext(stream)]
        await stream.aclose()
        return got

    got = asyncio.run(behind())
    assert [json.loads(g.split("data: ")[1])["order_id"] for g in got] == ["o2", "o3"]


def test_the_page_and_the_board_are_on_the_side_door():
    board = PickupBoard()
    board.handle(event(READY, "o1", customer_name="Ada"))
    with TestClient(side_door_app(lambda: True, board.routes())) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert 'new EventSource("stream")' in page.text
        answer = client.get("/board").json()
        assert answer["announced"] == 1
        assert [c["text"] for c in answer["calls"]] == ["order O1 ready for Ada"]


def test_stats_say_the_subscription_and_what_it_received_by_kind():
    subscriber = Subscriber(
        Target("memory://x", "order-events", "analytics", durable=False), Tally(), connect=None
    )  # type: ignore[arg-type]
    subscriber.stats = ConsumerStats(handled=3, events={"order-placed": 2, "order-ready": 1})
    with TestClient(side_door_app(lambda: True, [stats_route(subscriber)])) as client:
        answer = client.get("/stats").json()
    assert answer["subscription"] == "analytics"
    assert answer["durable"] is False
    assert answer["subscribed"] is False
    assert answer["events"] == {"order-placed": 2, "order-ready": 1}
    assert answer["handled"] == 3


def test_the_demo_s_subscriptions_pick_their_roles():
    assert isinstance(role_for("pickup-board"), PickupBoard)
    assert isinstance(role_for("analytics"), Tally)
