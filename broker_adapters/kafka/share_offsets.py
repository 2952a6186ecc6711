"""A share group's lag per partition, asked of the group coordinator itself.

confluent-kafka 2.16 (librdkafka 2.16) has no admin call for share groups' offsets (Java's
``Admin.listShareGroupOffsets``), so this speaks the one Kafka request it needs over a plain
socket: DescribeShareGroupOffsets (API key 90, version 1, KIP-932), which answers each
partition's share-partition start offset and its lag (records not yet acknowledged, in flight
ones included), after FindCoordinator and, with credentials, SASL/PLAIN. Nothing else of the
protocol is implemented.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker_adapters.core import BrokerUnavailable

API_SASL_HANDSHAKE = 17
API_SASL_AUTHENTICATE = 36
API_FIND_COORDINATOR = 10
API_DESCRIBE_SHARE_GROUP_OFFSETS = 90
GROUP_ID_NOT_FOUND = 69
# COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: asked again.
RETRIABLE = {14, 15, 16}
CLIENT_ID = b"barista-share-offsets"


@dataclass(frozen=True)
class SharePartitionOffsets:
    """What the broker keeps of one share partition; -1 where it keeps nothing yet."""

    partition: int
    start_offset: int
    lag: int


class _Retriable(BrokerUnavailable):
    """The coordinator is moving or loading (as right after a broker start): ask again."""


class _Buffer:
    """Reads Kafka's primitive types (classic and compact) from a response body."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self._data, self._at)
        self._at += struct.calcsize(fmt)
        return value

    def uvarint(self) -> int:
        result, shift = 0, 0
        while True:
            byte = self._data[self._at]
            self._at += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def compact_string(self) -> str | None:
        length = self.uvarint() - 1
        if length < 0:
            return None
        value = self._data[self._at : self._at + length].decode()
        self._at += length
        return value

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        value = self._data[self._at : self._at + length].decode()
        self._at += length
        return str(value)

    def skip(self, count: int) -> None:
        self._at += count

    def tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.skip(self.uvarint())


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _compact_string(value: str) -> bytes:
    raw = value.encode()
    return _uvarint(len(raw) + 1) + raw


class _Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._socket = socket.create_connection((host, port), timeout=timeout)
        self._correlation = 0

    def call(self, api_key: int, version: int, body: bytes, *, flexible: bool) -> _Buffer:
        self._correlation += 1
        header = struct.pack(">hhih", api_key, version, self._correlation, len(CLIENT_ID))
        header += CLIENT_ID + (b"\x00" if flexible else b"")
        frame = header + body
        self._socket.sendall(struct.pack(">i", len(frame)) + frame)
        (size,) = struct.unpack(">i", self._read(4))
        reply = _Buffer(self._read(size))
        if reply.take(">i") != self._correlation:
            raise BrokerUnavailable("kafka: a response out of order")
        if flexible and api_key != 18:
            reply.tags()
        return reply

    def _read(self, count: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < count:
            chunk = self._socket.recv(count - len(chunks))
            if not chunk:
                raise BrokerUnavailable("kafka: the broker closed the connection")
            chunks += chunk
        return bytes(chunks)

    def authenticate(self, user: str, password: str) -> None:
        mechanism = b"PLAIN"
        reply = self.call(
            API_SASL_HANDSHAKE, 1, struct.pack(">h", len(mechanism)) + mechanism, flexible=False
        )
        if (code := reply.take(">h")) != 0:
            raise BrokerUnavailable(f"kafka: SASL handshake refused (error {code})")
        token = b"\x00" + user.encode() + b"\x00" + password.encode()
        reply = self.call(
            API_SASL_AUTHENTICATE, 1, struct.pack(">i", len(token)) + token, flexible=False
        )
        if (code := reply.take(">h")) != 0:
            raise BrokerUnavailable(f"kafka: SASL/PLAIN refused: {reply.string()} ({code})")

    def close(self) -> None:
        self._socket.close()


def _open(settings: Mapping[str, Any], host: str, port: int, timeout: float) -> _Connection:
    connection = _Connection(host, port, timeout)
    if settings.get("sasl.username"):
        connection.authenticate(str(settings["sasl.username"]), str(settings["sasl.password"]))
    return connection


def _coordinator(connection: _Connection, group: str) -> tuple[str, int]:
    body = b"\x00" + _uvarint(2) + _compact_string(group) + b"\x00"  # key type GROUP, one key
    reply = connection.call(API_FIND_COORDINATOR, 4, body, flexible=True)
    reply.take(">i")  # throttle time
    for _ in range(reply.uvarint() - 1):
        reply.compact_string()
        reply.take(">i")  # node id
        host = reply.compact_string() or ""
        port = reply.take(">i")
        code = reply.take(">h")
        message = reply.compact_string()
        reply.tags()
        if code != 0:
            error = _Retriable if code in RETRIABLE else BrokerUnavailable
            raise error(f"kafka: no coordinator for {group!r}: {message} ({code})")
        return host, int(port)
    raise BrokerUnavailable(f"kafka: no coordinator for {group!r}")


def share_group_offsets(
    settings: Mapping[str, Any], group: str, topic: str, partitions: list[int], timeout: float
) -> list[SharePartitionOffsets] | None:
    """Each partition's start offset and lag in ``group``; None when the broker knows no share
    group of that name (never consumed, or a consumer group). Retries while the coordinator
    moves or loads, up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _ask(settings, group, topic, partitions, timeout)
        except _Retriable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def _ask(
    settings: Mapping[str, Any], group: str, topic: str, partitions: list[int], timeout: float
) -> list[SharePartitionOffsets] | None:
    bootstrap = str(settings["bootstrap.servers"]).split(",")[0]
    host, port = bootstrap.rsplit(":", 1)
    try:
        first = _open(settings, host, int(port), timeout)
        try:
            coordinator = _coordinator(first, group)
        finally:
            first.close()
        connection = _open(settings, coordinator[0], coordinator[1], timeout)
        try:
            return _describe(connection, group, topic, partitions)
        finally:
            connection.close()
    except OSError as error:
        raise BrokerUnavailable(f"kafka: share group offsets of {group!r}: {error}") from error


def _describe(
    connection: _Connection, group: str, topic: str, partitions: list[int]
) -> list[SharePartitionOffsets] | None:
    body = _uvarint(2) + _compact_string(group)
    body += _uvarint(2) + _compact_string(topic) + _uvarint(len(partitions) + 1)
    body += b"".join(struct.pack(">i", p) for p in partitions)
    body += b"\x00" + b"\x00" + b"\x00"  # topic, group and request tagged fields
    reply = connection.call(API_DESCRIBE_SHARE_GROUP_OFFSETS, 1, body, flexible=True)
    reply.take(">i")  # throttle time
    found: list[SharePartitionOffsets] = []
    for _ in range(reply.uvarint() - 1):
        reply.compact_string()
        for _ in range(reply.uvarint() - 1):
            reply.compact_string()
            reply.skip(16)  # topic id
            for _ in range(reply.uvarint() - 1):
                partition = reply.take(">i")
                start = reply.take(">q")
                reply.take(">i")  # leader epoch
                lag = reply.take(">q")
                code = reply.take(">h")
                message = reply.compact_string()
                reply.tags()
                if code not in (0, GROUP_ID_NOT_FOUND):
                    raise BrokerUnavailable(f"kafka: share offsets: {message} ({code})")
                found.append(SharePartitionOffsets(partition, start, lag))
            reply.tags()
        code = reply.take(">h")
        message = reply.compact_string()
        reply.tags()
        if code == GROUP_ID_NOT_FOUND:
            return None
        if code != 0:
            error = _Retriable if code in RETRIABLE else BrokerUnavailable
            raise error(f"kafka: share offsets of {group!r}: {message} ({code})")
    return found
