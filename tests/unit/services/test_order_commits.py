"""order-api's group commit: concurrent orders share a batch, and a batch is confirmed or
refused as a whole, never answered for an order the broker did not confirm."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import anyio
import pytest

from broker_adapters import BrokerUnavailable, OutgoingMessage
from services.ledger import OrderState
from services.messaging import declare_orders
from services.order_api.calls import BlockingCalls
from services.order_api.commits import OrderCommits, Refused
from services.orders import Order, OrderRequest
from tests.unit.services.fakes import FakeLedger, RecordingBroker

QUEUE = "orders"
TOPIC = "order-events"
REQUEST = OrderRequest.model_validate(
    {"customer": {"id": "table-4", "name": "Ada"}, "items": [{"item": "tea"}]}
)


class GatedBroker(RecordingBroker):
    """Records each send's batch size; ``hold()`` makes the next send wait for ``release``
    (and then raise ``error``, if given), as a broker frozen mid-batch."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_sizes: list[int] = []
        self.entered = threading.Event()
        self._gate: threading.Event | None = None
        self._error: BaseException | None = None

    def hold(self, error: BaseException | None = None) -> threading.Event:
        self._gate, self._error = threading.Event(), error
        self.entered.clear()
        return self._gate

    def send_batch(self, queue: str, messages: Sequence[OutgoingMessage]) -> list[str]:
        self.batch_sizes.append(len(messages))
        gate, error = self._gate, self._error
        self._gate = self._error = None
        self.entered.set()
        if gate is not None:
            gate.wait(10)
            if error is not None:
                raise error
        return super().send_batch(queue, messages)


@pytest.fixture
def broker() -> Iterator[GatedBroker]:
    fake = GatedBroker()
    declare_orders(fake, QUEUE, f"{QUEUE}-dlq", 5, 30.0)
    yield fake
    fake.recover()


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


def commits_for(
    broker: GatedBroker, ledger: FakeLedger, *, max_batch: int = 256, timeout: float = 5.0
) -> OrderCommits:
    return OrderCommits(
        broker,
        ledger,
        orders_queue=QUEUE,
        events_topic=TOPIC,
        calls=BlockingCalls(100),
        broker_timeout=timeout,
        ledger_timeout=2.0,
        max_batch=max_batch,
    )


async def until(condition, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.005)


async def place(
    commits: OrderCommits, orders: list[Order], outcomes: dict[str, str | Refused]
) -> None:
    async def one(order: Order) -> None:
        try:
            outcomes[order.order_id] = await commits.commit(order)
        except Refused as refused:
            outcomes[order.order_id] = refused

    async with anyio.create_task_group() as group:
        for order in orders:
            group.start_soon(one, order)


def orders(count: int) -> list[Order]:
    return [Order.accept(REQUEST) for _ in range(count)]


def test_orders_arriving_during_a_batch_are_confirmed_together_in_the_next(broker, ledger):
    commits = commits_for(broker, ledger)
    first, rest = orders(1), orders(9)
    outcomes: dict[str, str | Refused] = {}

    async def scenario() -> None:
        gate = broker.hold()
        async with anyio.create_task_group() as group:
            group.start_soon(place, commits, first, outcomes)
            await until(broker.entered.is_set)  # the first batch is at the broker
            group.start_soon(place, commits, rest, outcomes)
            await until(lambda: commits.waiting == 9)
            gate.set()

    anyio.run(scenario)

    assert broker.batch_sizes == [1, 9]
    assert outcomes == {order.order_id: "ok" for order in first + rest}
    assert sorted(s.message.trace_id for s in broker.sent) == sorted(outcomes)
    assert len(broker.published) == 10  # one order-placed event each, in one publish per batch
    assert ledger.states == dict.fromkeys(outcomes, OrderState.ACCEPTED)


def test_a_batch_holds_at_most_max_batch_orders(broker, ledger):
    commits = commits_for(broker, ledger, max_batch=3)
    outcomes: dict[str, str | Refused] = {}

    async def scenario() -> None:
        gate = broker.hold()
        async with anyio.create_task_group() as group:
            group.start_soon(place, commits, orders(1), outcomes)
            await until(broker.entered.is_set)
            group.start_soon(place, commits, orders(7), outcomes)
            await until(lambda: commits.waiting == 7)
            gate.set()

    anyio.run(scenario)

    assert broker.batch_sizes == [1, 3, 3, 1]
    assert set(outcomes.values()) == {"ok"}


def test_an_unconfirmed_batch_refuses_every_order_in_it_and_only_those(broker, ledger):
    commits = commits_for(broker, ledger)
    refused, confirmed = orders(3), orders(4)
    outcomes: dict[str, str | Refused] = {}

    async def scenario() -> None:
        gate = broker.hold(BrokerUnavailable("frozen mid-batch"))
        async with anyio.create_task_group() as group:
            group.start_soon(place, commits, refused[:1], outcomes)
            await until(broker.entered.is_set)
            group.start_soon(place, commits, refused[1:], outcomes)
            await until(lambda: commits.waiting == 2)
            # The held batch has one order; the two queued behind it form the next batch,
            # and so do these, sent once the broker answers again.
            gate.set()
        await place(commits, confirmed, outcomes)

    anyio.run(scenario)

    assert broker.batch_sizes[0] == 1
    assert isinstance(outcomes[refused[0].order_id], Refused)
    assert outcomes[refused[0].order_id].step == "broker"
    assert [outcomes[o.order_id] for o in refused[1:] + confirmed] == ["ok"] * 6
    assert refused[0].order_id not in ledger.states  # withdrawn
    assert refused[0].order_id not in {s.message.trace_id for s in broker.sent}


def test_a_broker_frozen_mid_batch_gets_every_waiting_order_refused_at_its_deadline(broker, ledger):
    commits = commits_for(broker, ledger, timeout=0.3)
    frozen = orders(5)
    outcomes: dict[str, str | Refused] = {}

    async def scenario() -> None:
        broker.block("send")  # every send hangs (past the deadline) and confirms nothing
        async with anyio.create_task_group() as group:
            group.start_soon(place, commits, frozen[:1], outcomes)
            await until(lambda: broker.batch_sizes == [1])
            group.start_soon(place, commits, frozen[1:], outcomes)

    anyio.run(scenario)
    broker.recover()

    assert all(isinstance(outcomes[o.order_id], Refused) for o in frozen)
    assert broker.batch_sizes == [1, 4]
    assert broker.sent == []
    assert ledger.states == {}
    assert commits.waiting == 0
    assert commits.batches == 2


def test_a_failed_ledger_write_refuses_the_batch_before_anything_is_sent(broker, ledger):
    commits = commits_for(broker, ledger)
    ledger.fail("accepted", times=1)
    first, second = orders(2)
    outcomes: dict[str, str | Refused] = {}

    # The first order leads a batch of its own before the second is queued behind it.
    anyio.run(place, commits, [first, second], outcomes)

    assert isinstance(outcomes[first.order_id], Refused)
    assert outcomes[first.order_id].step == "ledger"
    assert outcomes[second.order_id] == "ok"
    assert [s.message.trace_id for s in broker.sent] == [second.order_id]
