"""Experiment 2: subscribers that are away while messages are published.

A durable subscription (SNS → an SQS queue) keeps what arrives while its consumer is away; a
fire-and-forget one (SNS → an HTTP endpoint that is down, after its retries) does not. Both
subscribers leave, messages are published, both come back, and a marker published after their
return tells when each has caught up.
"""

from __future__ import annotations

from broker_adapters import Broker, Subscription, UnsupportedSemantic
from orchestrator.compare.consumers import QUIET_WINDOW, drain
from orchestrator.compare.names import fresh
from orchestrator.compare.observations import OfflineSubscriber, Unsupported

WHILE_AWAY = 5


def run(url: str, broker: Broker) -> OfflineSubscriber:
    """Count, per kind of subscription, the messages published while away that never came."""
    del url  # one connection is enough: subscriptions are per name, not per connection
    topic = fresh("offline")
    kinds = {"durable": True, "fire-and-forget": False}
    first: dict[str, Subscription | Unsupported] = {}
    for kind, durable in kinds.items():
        try:
            first[kind] = broker.subscribe(topic, kind, durable=durable)
        except UnsupportedSemantic as error:
            first[kind] = Unsupported(str(error))
    for subscription in first.values():
        if isinstance(subscription, Subscription):
            subscription.close()
    away = {broker.publish(topic, f"while away {n}".encode()) for n in range(WHILE_AWAY)}
    back = {
        kind: broker.subscribe(topic, kind, durable=kinds[kind])
        for kind, subscription in first.items()
        if isinstance(subscription, Subscription)
    }
    try:
        marker = broker.publish(topic, b"published after the subscribers came back")
        missed: dict[str, int | Unsupported] = {}
        for kind, subscription in first.items():
            if isinstance(subscription, Unsupported):
                missed[kind] = subscription
                continue
            got = drain(
                lambda s=back[kind]: s.receive(10, wait=0.5),  # type: ignore[misc]
                lambda got: marker in {d.message.id for d in got},
                quiet=QUIET_WINDOW,
            )
            missed[kind] = len(away - {d.message.id for d in got})
    finally:
        for kind, subscription in back.items():
            subscription.close()
            if kinds[kind]:
                broker.delete_subscription(topic, kind)
    return OfflineSubscriber(
        published_while_away=WHILE_AWAY,
        durable_missed=missed["durable"],
        fire_and_forget_missed=missed["fire-and-forget"],
    )
