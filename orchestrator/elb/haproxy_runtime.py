"""A client of HAProxy's runtime API (TCP, admin level) and of its master CLI (reloads).

Facts this client relies on, verified on HAProxy 3.0.11:

- ``add server`` needs no experimental mode; the new server starts in maintenance with its
  health checks off (``enable health`` turns them on).
- A server leaving maintenance with checks enabled is immediately UP. To get AWS's *initial*
  state (no traffic until ``healthy_threshold_count`` checks pass), ``add_server`` puts it in
  drain, forces its health down, then sets it ready: it then needs ``rise`` passing checks.
- ``del server`` refuses a server that is not in maintenance or still has sessions.
- ``show stat`` reports per server the status (``UP``, ``DOWN``, ``DRAIN``, ``MAINT``,
  ``UP 1/3`` while changing), the last check (``L7OK``, ``L7STS``, ``L4CON``, ``L4TOUT``…),
  the current sessions (``scur``), ``chkdown`` (UP→DOWN transitions) and, during slow start,
  ``throttle`` (the percent of its weight a server gets; dynamic servers take ``slowstart``).
- The master CLI's ``reload`` returns ``Success=1`` once the new worker runs; with
  ``server-state-file`` + ``load-server-state-from-file`` the new worker keeps each server's
  health, drain state and weight (matched by backend and server name).
"""

from __future__ import annotations

import csv
import socket
from collections.abc import Sequence
from dataclasses import dataclass


class HaproxyCommandError(RuntimeError):
    """HAProxy answered a command with an error (the message is HAProxy's)."""


@dataclass(frozen=True)
class ServerStatus:
    """One server as ``show stat`` reports it."""

    backend: str
    name: str
    address: str
    port: int
    status: str
    check_status: str
    check_code: str
    current_sessions: int
    weight: int
    check_down_count: int
    # Percent of its weight a server in slow start gets; None when not throttled.
    throttle: int | None = None

    @property
    def state(self) -> str:
        """``UP``, ``DOWN``, ``DRAIN``, ``MAINT``, ``NOLB`` or ``no check`` (transition dropped)."""
        return "no check" if self.status == "no check" else self.status.split(" ")[0]


def parse_show_stat(text: str) -> list[ServerStatus]:
    """The server rows of ``show stat`` CSV (frontends and backend totals are left out)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0].lstrip("# ").split(",")
    servers = []
    for row in csv.reader(lines[1:]):
        values = dict(zip(header, row, strict=False))
        if values.get("svname") in ("FRONTEND", "BACKEND") or values.get("type") != "2":
            continue
        host, _, port = values.get("addr", "").rpartition(":")
        servers.append(
            ServerStatus(
                backend=values["pxname"],
                name=values["svname"],
                address=host,
                port=int(port or 0),
                status=values.get("status", ""),
                check_status=values.get("check_status", "").strip("* "),
                check_code=values.get("check_code", ""),
                current_sessions=int(values.get("scur") or 0),
                weight=int(values.get("weight") or 0),
                check_down_count=int(values.get("chkdown") or 0),
                throttle=int(values["throttle"]) if values.get("throttle") else None,
            )
        )
    return servers


class HaproxyRuntimeApi:
    """Commands over the runtime API's TCP socket; ``master_port`` is the master CLI's."""

    def __init__(
        self, host: str, port: int, *, master_port: int | None = None, timeout: float = 5.0
    ) -> None:
        self.host = host
        self.port = port
        self.master_port = master_port
        self.timeout = timeout

    def _send(self, port: int, command: str) -> str:
        with socket.create_connection((self.host, port), timeout=self.timeout) as sock:
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def execute(self, command: str) -> str:
        """One command (or several joined by ``;``); returns HAProxy's answer as text."""
        return self._send(self.port, command)

    def _checked(self, command: str, success: Sequence[str] = ()) -> str:
        answer = self.execute(command).strip()
        if answer and not any(answer.startswith(s) for s in success):
            raise HaproxyCommandError(f"{command!r}: {answer}")
        return answer

    def servers(self) -> list[ServerStatus]:
        return parse_show_stat(self.execute("show stat"))

    def backends(self) -> set[str]:
        lines = self.execute("show backend").splitlines()
        return {line.strip() for line in lines if line.strip() and not line.startswith("#")}

    def config_version(self) -> str | None:
        """The ``proc.barista_config`` the running configuration set, or None."""
        answer = self.execute("get var proc.barista_config").strip()
        marker = "value=<"
        if marker not in answer:
            return None
        return answer.split(marker, 1)[1].rstrip(">")

    def server_state(self) -> str:
        """``show servers state``: the file format ``load-server-state-from-file`` reads."""
        return self.execute("show servers state")

    def add_server(
        self, backend: str, name: str, address: str, port: int, arguments: Sequence[str]
    ) -> None:
        """Add a server that takes no traffic until its health checks pass ``rise`` times."""
        spec = " ".join([f"{address}:{port}", *arguments])
        self._checked(f"add server {backend}/{name} {spec}", success=("New server registered",))
        self.activate(backend, name, checked="check" in arguments)

    def activate(self, backend: str, name: str, *, checked: bool = True) -> None:
        """Take a server out of maintenance as AWS's *initial* target: with health checks,
        it is forced down first (in drain, so no request slips in), then needs ``rise``
        passing checks before it gets traffic."""
        server = f"{backend}/{name}"
        if checked:
            self._checked(
                f"enable health {server}; set server {server} state drain; "
                f"set server {server} health down; set server {server} state ready"
            )
        else:
            self._checked(f"set server {server} state ready")

    def set_address(self, backend: str, name: str, address: str, port: int) -> None:
        self._checked(
            f"set server {backend}/{name} addr {address} port {port}",
            success=("IP changed", "nothing changed", "port changed", "no need to change"),
        )

    def drain(self, backend: str, name: str) -> None:
        """No new connections (cookie-sticky ones included); in-flight ones go on."""
        self._checked(f"set server {backend}/{name} state drain")

    def remove_server(self, backend: str, name: str) -> None:
        """Maintenance, cut what is left, delete. Safe to repeat."""
        server = f"{backend}/{name}"
        self._checked(f"set server {server} state maint; shutdown sessions server {server}")
        answer = self.execute(f"del server {server}").strip()
        if answer.startswith("Server deleted") or "No such server" in answer:
            return
        raise HaproxyCommandError(f"del server {server}: {answer}")

    def reload(self) -> None:
        """Hitless reload through the master CLI: a new worker reads the configuration files;
        the old one finishes its connections. Raises if the new configuration fails."""
        if self.master_port is None:
            raise HaproxyCommandError("no master CLI port configured; cannot reload")
        answer = self._send(self.master_port, "reload")
        if "Success=1" not in answer:
            raise HaproxyCommandError(f"reload failed: {answer.strip()}")
