"""A fault-injecting HTTP proxy on loopback, between the sync client and the real gateway.

One request per TCP connection: the proxy reads the request head and its ``Content-Length``
body, forwards it upstream with ``Connection: close`` and hands the response back with
``Connection: close`` too, so the client never reuses a connection and every request gets a
connection (and a fault) of its own. That makes "the fault of the n-th connection" mean "the
fault of the n-th request", which the tests script and replay by seed. Chunked request bodies
are not supported (the client always sends ``Content-Length``); such a request is refused.

A fault is chosen per connection by a plan: a scripted queue of faults first, then a callable
(for instance ``random_plan`` over a seeded ``random.Random``), then pass-through. The choice is
made once the request line has arrived, read with ``MSG_PEEK`` so nothing is consumed (a black
hole still reads nothing): that lets ``match`` exempt some calls (say, the token endpoint) from
faults. Scripts and seeded plans replay exactly when the client sends one request at a time, as
the outbox does.

Threads: one accept thread and one thread per connection. Every wait is a short ``select`` that
also watches the stop flag, so ``stop()`` ends and joins every thread and closes every socket
(the suite runs with warnings as errors: a leaked socket's ResourceWarning fails it).
"""

from __future__ import annotations

import contextlib
import enum
import random
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

_POLL_S = 0.02  # how often a waiting thread looks at the stop flag
_HEAD_LIMIT = 64 * 1024
_IO_TIMEOUT_S = 10.0  # upper bound of any single read or write the proxy itself waits for
_HOLD_LIMIT_S = 60.0  # a held (stalled, black-holed) connection is let go after this at most
_JOIN_TIMEOUT_S = 5.0


class FaultKind(enum.StrEnum):
    """What the proxy does with one connection."""

    PASS = "pass"  # forward the request, return the response
    RESET = "reset"  # forward head + k body bytes, then RST both sides
    STALL = "stall"  # read the whole request, never forward or answer
    BLACK_HOLE = "black_hole"  # read nothing at all, never answer
    SLOW = "slow"  # forward; return the response a few bytes at a time
    COMMIT_THEN_DROP = "commit_then_drop"  # forward; read the response; close without it
    COMMIT_THEN_STALL = "commit_then_stall"  # forward; read the response; never send it
    CANNED = "canned"  # answer a fixed response without contacting the gateway


@dataclass(frozen=True)
class Fault:
    """One connection's fault. Build it with the class methods."""

    kind: FaultKind
    after_bytes: int = 0  # RESET: request body bytes forwarded before the reset
    chunk: int = 16  # SLOW: bytes per write
    delay_s: float = 0.0  # SLOW: pause between writes
    status: int = 503  # CANNED
    body: bytes = b""  # CANNED
    headers: tuple[tuple[str, str], ...] = ()  # CANNED

    @classmethod
    def passthrough(cls) -> Fault:
        """Forward the request and return the response unchanged (bar ``Connection``)."""
        return cls(FaultKind.PASS)

    @classmethod
    def reset(cls, after_bytes: int = 0) -> Fault:
        """Forward the head and the first ``after_bytes`` of the body, then reset (RST).

        The gateway sees a truncated request and must store nothing. With ``after_bytes`` at
        or past the body's length the whole request goes up before the reset, and the gateway
        may commit: then it is a commit-then-reset.
        """
        return cls(FaultKind.RESET, after_bytes=after_bytes)

    @classmethod
    def stall(cls) -> Fault:
        """Read the request and never answer, until the client gives up."""
        return cls(FaultKind.STALL)

    @classmethod
    def black_hole(cls) -> Fault:
        """Accept the connection and never read from or write to it."""
        return cls(FaultKind.BLACK_HOLE)

    @classmethod
    def slow(cls, chunk: int = 16, delay_s: float = 0.01) -> Fault:
        """Forward, then trickle the response ``chunk`` bytes per ``delay_s``.

        A delay below the client's read timeout only slows the response; a delay above it
        makes the client time out after the gateway has committed.
        """
        return cls(FaultKind.SLOW, chunk=chunk, delay_s=delay_s)

    @classmethod
    def commit_then_drop(cls) -> Fault:
        """Forward, read the whole response, then close the client's connection without it."""
        return cls(FaultKind.COMMIT_THEN_DROP)

    @classmethod
    def commit_then_stall(cls) -> Fault:
        """Forward, read the whole response, then never send it (the client times out)."""
        return cls(FaultKind.COMMIT_THEN_STALL)

    @classmethod
    def canned(
        cls,
        status: int = 503,
        body: bytes = b"<html><body>Service Unavailable</body></html>",
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Answer ``status`` with ``body`` (HTML by default: not the JSON envelope) itself."""
        pairs = tuple((headers or {"Content-Type": "text/html"}).items())
        return cls(FaultKind.CANNED, status=status, body=body, headers=pairs)


FaultPlan = Callable[[int], Fault]
"""Chooses the fault of the n-th faultable connection (0-based)."""

Match = Callable[[str, str], bool]
"""Given (method, path) of a request, says whether its connection may get a fault."""


def random_plan(rng: random.Random, weights: Mapping[Fault, float]) -> FaultPlan:
    """A plan drawing each connection's fault from ``weights`` with ``rng`` (seeded: replayable).

    Args:
        rng: The run's seeded generator; one draw per faultable request, in arrival order.
        weights: Relative weight of each fault.

    Returns:
        The plan.
    """
    faults = list(weights)
    relative = list(weights.values())

    def plan(_index: int) -> Fault:
        return rng.choices(faults, weights=relative)[0]

    return plan


@dataclass
class Connection:
    """What happened on one proxied connection.

    Request bodies are never kept. The gateway's response is, so that a test of a lost answer
    can read the 受付番号 the client never saw (receipts carry ids and numbers only).
    """

    index: int
    fault: Fault = field(default_factory=Fault.passthrough)
    method: str = ""
    path: str = ""
    request_bytes: int = 0  # request bytes read from the client (head + body)
    forwarded_bytes: int = 0  # request bytes sent to the gateway
    upstream_status: int | None = None  # the gateway's status, if it answered
    upstream_response: bytes = b""  # the gateway's full response (head + body), as sent
    sent_bytes: int = 0  # response bytes written to the client
    client_closed: bool = False  # the client closed or reset the connection first
    error: str = ""  # type name of an unexpected OSError, if any
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def reached_gateway(self) -> bool:
        """True if any byte of the request went upstream."""
        return self.forwarded_bytes > 0


class _StoppingError(Exception):
    """The proxy is stopping: unwind the connection's thread."""


class _ClientGoneError(Exception):
    """The client closed or reset its side."""


@dataclass
class _Request:
    head: bytes
    body: bytes
    method: str
    path: str
    content_length: int


class FaultProxy:
    """A loopback proxy in front of ``upstream`` that injects one fault per connection.

    Use as a context manager, or call ``start()`` and ``stop()``.
    """

    def __init__(
        self,
        upstream: str,
        plan: FaultPlan | None = None,
        *,
        script: Iterable[Fault] = (),
        match: Match | None = None,
        hold_limit_s: float = _HOLD_LIMIT_S,
    ) -> None:
        """Prepare a proxy (not yet listening).

        Args:
            upstream: The gateway's base URL (``http://127.0.0.1:PORT``).
            plan: Chooses the fault of connections not covered by ``script``; pass-through if
                None.
            script: Faults of the next connections, in order, before ``plan`` is asked.
            match: Which requests may get a fault; the others pass through without using
                the script or the plan. Every request if None.
            hold_limit_s: Longest time a stalled or black-holed connection is held open.
        """
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError("upstream must be http://host:port")
        self._upstream = (parts.hostname, parts.port)
        self._plan = plan
        self._script: deque[Fault] = deque(script)
        self._match = match
        self._faultable = 0
        self._hold_limit_s = hold_limit_s
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self.connections: list[Connection] = []
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free loopback port and start accepting."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self._acceptor = threading.Thread(target=self._accept_loop, name="faultproxy-accept",
                                          daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every connection, join every thread, close every socket."""
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(_JOIN_TIMEOUT_S)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(_JOIN_TIMEOUT_S)
        if self._listener is not None:
            self._listener.close()
        alive = [t.name for t in threads if t.is_alive()]
        if self._acceptor is not None and self._acceptor.is_alive():
            alive.append(self._acceptor.name)
        if alive:
            raise RuntimeError(f"proxy threads did not stop: {alive}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- plan -------------------------------------------------------------------------------

    def push(self, *faults: Fault) -> None:
        """Script the faults of the next connections (after any already scripted)."""
        with self._lock:
            self._script.extend(faults)

    def clear_script(self) -> list[Fault]:
        """Drop the scripted faults no connection has used yet; return them."""
        with self._lock:
            left = list(self._script)
            self._script.clear()
        return left

    def set_plan(self, plan: FaultPlan | None) -> None:
        """Replace the plan of unscripted connections (None: pass-through)."""
        with self._lock:
            self._plan = plan

    def _next_fault(self, method: str, path: str) -> Fault:
        if self._match is not None and not self._match(method, path):
            return Fault.passthrough()
        with self._lock:
            index = self._faultable
            self._faultable += 1
            if self._script:
                return self._script.popleft()
            plan = self._plan
        return plan(index) if plan is not None else Fault.passthrough()

    def idle(self, timeout: float = _JOIN_TIMEOUT_S) -> bool:
        """Wait until every connection accepted so far has finished; True if they did."""
        deadline = time.monotonic() + timeout
        for connection in list(self.connections):
            if not connection.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def count(self, kind: FaultKind) -> int:
        """How many connections so far got a fault of this kind."""
        return sum(1 for c in self.connections if c.fault.kind is kind)

    # -- accepting --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            readable, _, _ = select.select([self._listener], [], [], _POLL_S)
            if not readable:
                continue
            try:
                client, _address = self._listener.accept()
            except OSError:
                continue
            index = len(self.connections)
            connection = Connection(index)
            self.connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(client, connection),
                                      name=f"faultproxy-{index}", daemon=True)
            with self._lock:
                self._threads = {t for t in self._threads if t.is_alive()}
                self._threads.add(thread)
            thread.start()

    def _serve(self, client: socket.socket, connection: Connection) -> None:
        upstream: socket.socket | None = None
        try:
            client.settimeout(_IO_TIMEOUT_S)
            connection.method, connection.path = self._peek_request_line(client)
            fault = connection.fault = self._next_fault(connection.method, connection.path)
            if fault.kind is FaultKind.BLACK_HOLE:
                self._hold(client, connection, read=False)
                return
            request = self._read_request(client, connection, fault)
            if fault.kind is FaultKind.RESET:
                upstream = self._connect_upstream()
                partial = request.head + request.body[: fault.after_bytes]
                upstream.sendall(partial)
                connection.forwarded_bytes = len(partial)
                _reset(upstream)
                upstream = None
                _reset(client)
                return
            if fault.kind is FaultKind.STALL:
                self._hold(client, connection, read=True)
                return
            if fault.kind is FaultKind.CANNED:
                self._send(client, connection, _canned_response(fault))
                return
            response = self._exchange(request, connection)
            if fault.kind is FaultKind.COMMIT_THEN_DROP:
                return  # the finally closes the client's socket: a FIN, no response
            if fault.kind is FaultKind.COMMIT_THEN_STALL:
                self._hold(client, connection, read=True)
                return
            if fault.kind is FaultKind.SLOW:
                for start in range(0, len(response), max(1, fault.chunk)):
                    if start:
                        self._pause(client, fault.delay_s)
                    self._send(client, connection, response[start:start + fault.chunk])
                return
            self._send(client, connection, response)
        except _ClientGoneError:
            connection.client_closed = True
        except _StoppingError:
            pass
        except OSError as exc:
            connection.error = type(exc).__name__
        finally:
            if upstream is not None:
                upstream.close()
            with contextlib.suppress(OSError):
                client.close()
            connection.done.set()

    # -- the pieces -------------------------------------------------------------------------

    def _wait_readable(self, sock: socket.socket, deadline: float) -> None:
        while True:
            if self._stopping.is_set():
                raise _StoppingError
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            readable, _, _ = select.select([sock], [], [], min(_POLL_S, remaining))
            if readable:
                return

    def _recv(self, sock: socket.socket, size: int, deadline: float) -> bytes:
        self._wait_readable(sock, deadline)
        try:
            return sock.recv(size)
        except ConnectionError as exc:
            raise _ClientGoneError from exc

    def _pause(self, client: socket.socket, seconds: float) -> None:
        """Wait, but notice at once if the client leaves (it has nothing more to send)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self._wait_readable(client, deadline)
            except TimeoutError:
                return
            try:
                if not client.recv(1, socket.MSG_PEEK):
                    raise _ClientGoneError
            except ConnectionError as exc:
                raise _ClientGoneError from exc
            self._sleep(_POLL_S)  # unexpected bytes from the client: ignore them

    def _sleep(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise _StoppingError

    def _peek_request_line(self, client: socket.socket) -> tuple[str, str]:
        """Method and path of the request, without consuming a byte of it."""
        deadline = time.monotonic() + _IO_TIMEOUT_S
        while True:
            self._wait_readable(client, deadline)
            try:
                data = client.recv(_HEAD_LIMIT, socket.MSG_PEEK)
            except ConnectionError as exc:
                raise _ClientGoneError from exc
            if not data:
                raise _ClientGoneError
            line, newline, _ = data.partition(b"\r\n")
            if newline:
                method, path, _version = line.decode("latin-1").split(" ", 2)
                return method, path
            if len(data) >= _HEAD_LIMIT:
                raise _ClientGoneError
            self._sleep(_POLL_S)  # part of a line: wait for the rest (peeking is not waiting)

    def _read_request(
        self, client: socket.socket, connection: Connection, fault: Fault
    ) -> _Request:
        deadline = time.monotonic() + _IO_TIMEOUT_S
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > _HEAD_LIMIT:
                raise _ClientGoneError
            chunk = self._recv(client, 65536, deadline)
            if not chunk:
                raise _ClientGoneError
            data += chunk
        raw_head, _, body = data.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        method, path, version = lines[0].split(" ", 2)
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        names = {name.strip().lower(): value.strip() for name, value in headers}
        if "chunked" in names.get("transfer-encoding", "").lower():
            raise _ClientGoneError  # not supported: see the module docstring
        length = int(names.get("content-length", "0"))
        # A reset reads no more of the body than it forwards; the rest stays in flight.
        wanted = min(length, fault.after_bytes) if fault.kind is FaultKind.RESET else length
        while len(body) < wanted:
            chunk = self._recv(client, wanted - len(body), deadline)
            if not chunk:
                raise _ClientGoneError
            body += chunk
        connection.request_bytes = len(raw_head) + 4 + len(body)
        # Hop-by-hop headers go; Connection: close makes this the connection's only request.
        kept = [f"{n}:{v}" for n, v in headers
                if n.strip().lower() not in ("connection", "keep-alive")]
        head = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
        return _Request(head.encode("latin-1"), body, method, path, length)

    def _connect_upstream(self) -> socket.socket:
        return socket.create_connection(self._upstream, timeout=_IO_TIMEOUT_S)

    def _exchange(self, request: _Request, connection: Connection) -> bytes:
        """Send the request upstream and read the whole response (until the gateway closes)."""
        upstream = self._connect_upstream()
        try:
            upstream.sendall(request.head + request.body)
            connection.forwarded_bytes = len(request.head) + len(request.body)
            deadline = time.monotonic() + _IO_TIMEOUT_S
            response = b""
            while True:
                self._wait_readable(upstream, deadline)
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                response += chunk
        finally:
            upstream.close()
        connection.upstream_response = response
        status_line = response.split(b"\r\n", 1)[0].split(b" ")
        if len(status_line) >= 2 and status_line[1].isdigit():
            connection.upstream_status = int(status_line[1])
        return _close_after(response)

    def _send(self, client: socket.socket, connection: Connection, data: bytes) -> None:
        try:
            client.sendall(data)
        except (ConnectionError, TimeoutError) as exc:
            raise _ClientGoneError from exc
        connection.sent_bytes += len(data)

    def _hold(self, client: socket.socket, connection: Connection, *, read: bool) -> None:
        """Keep the connection open without answering until the client leaves (or the limit).

        A black hole never reads, so it cannot see the client leave; it waits for the limit
        or for ``stop()``. Its unread bytes make the final close a reset, as a real black hole
        (a dead host behind a NAT) would never send one: the client has long given up by then.
        """
        deadline = time.monotonic() + self._hold_limit_s
        if not read:
            while time.monotonic() < deadline:
                self._sleep(_POLL_S)
            return
        while True:
            try:
                chunk = self._recv(client, 65536, deadline)
            except TimeoutError:
                return
            if not chunk:
                raise _ClientGoneError


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST instead of an orderly FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _close_after(response: bytes) -> bytes:
    """The response with its ``Connection`` header replaced by ``Connection: close``."""
    head, separator, body = response.partition(b"\r\n\r\n")
    if not separator:
        return response
    lines = head.split(b"\r\n")
    kept = [line for line in lines[1:]
            if not line.lower().startswith((b"connection:", b"keep-alive:"))]
    return b"\r\n".join([lines[0], *kept, b"Connection: close"]) + b"\r\n\r\n" + body


_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


def _canned_response(fault: Fault) -> bytes:
    lines = [f"HTTP/1.1 {fault.status} {_REASONS.get(fault.status, 'Error')}"]
    lines += [f"{name}: {value}" for name, value in fault.headers]
    lines += [f"Content-Length: {len(fault.body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + fault.body


def describe(connections: Sequence[Connection]) -> dict[str, int]:
    """Connections per fault kind, for a failure message or a figure."""
    counts: dict[str, int] = {}
    for connection in connections:
        counts[connection.fault.kind.value] = counts.get(connection.fault.kind.value, 0) + 1
    return counts
