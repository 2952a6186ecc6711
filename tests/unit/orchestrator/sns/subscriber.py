"""A tiny HTTP/S-subscription endpoint for tests: a server on 127.0.0.1 that records every
POST and, when told to, confirms its subscription by visiting the SubscribeURL, as an SNS
subscriber's web app does."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def kind(self) -> str:
        return self.headers.get("x-amz-sns-message-type", "")


@dataclass
class Subscriber:
    url: str
    confirm: bool = True
    # Answer with this status (instead of 200) to this many notifications.
    fail_status: int = 500
    failures_left: int = 0
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notifications(self) -> list[Post]:
        with self.lock:
            return [post for post in self.posts if post.kind == "Notification"]

    def confirmations(self) -> list[Post]:
        with self.lock:
            return [post for post in self.posts if post.kind == "SubscriptionConfirmation"]


@contextmanager
def http_subscriber(confirm: bool = True) -> Iterator[Subscriber]:
    subscriber = Subscriber("", confirm=confirm)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            post = Post(
                self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            with subscriber.lock:
                subscriber.posts.append(post)
                failing = post.kind == "Notification" and subscriber.failures_left > 0
                if failing:
                    subscriber.failures_left -= 1
            if post.kind == "SubscriptionConfirmation" and subscriber.confirm:
                with urllib.request.urlopen(post.json["SubscribeURL"], timeout=10) as answer:
                    answer.read()
            self.send_response(subscriber.fail_status if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    subscriber.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield subscriber
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
