"""A loopback HTTP server that answers queued canned responses over real HTTP, and records requests.

For testing what the client and the outbox do with answers the real gateway never gives
(a proxy's HTML 502, a 413, a Retry-After date, a stall). The token endpoint issues tokens
by itself unless responses are queued for it.

    with ScriptedServer() as server:
        server.script(Canned(503, ENVELOPE, {"Retry-After": "120"}), Canned(201, receipt))
        ... LinkageClient(server.url, credentials=FAKE_CREDENTIALS) ...
        server.requests  # what arrived, in order
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from sync.protocol import TOKEN_PATH, DeviceCredentials

FAKE_CREDENTIALS = DeviceCredentials(
    client_id="K" * 32, client_secret="s" * 40, device_id="KIOSK-TEST", tenant_code="131016",
    mode="kiosk",
)
"""Credentials a scripted server accepts (it checks nothing: tests script refusals)."""


@dataclass(frozen=True)
class Canned:
    """One scripted answer.

    Attributes:
        status: HTTP status.
        body: dict/list → JSON; str → text/html; bytes → as is; None → empty.
        headers: Extra response headers.
        delay_s: Wait this long before answering (a stall; the client's timeout fires).
        drop: Close the connection without any answer (a reset after the request arrived).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def envelope(result: list[Any], href: str = "/madoguchi/v1/x") -> dict[str, Any]:
    """A standard success envelope around `result`."""
    return {"metadata": {"title": "OK", "detail": "OK"}, "_links": {"self": {"href": href}},
            "result": result}


def error_envelope(*codes: str, field_: str | None = None) -> dict[str, Any]:
    """A standard error envelope with these codes (messages as a gateway would send them)."""
    return {"title": "エラー", "detail": "…", "_links": {"self": {"href": "/madoguchi/v1/x"}},
            "errors": [{"code": c, "message": "入力に誤りがあります。", "field": field_}
                       for c in codes]}


def token_response(token: str, expires_in: int = 300) -> Canned:
    """A token endpoint success."""
    return Canned(200, {"access_token": token, "token_type": "Bearer",
                        "expires_in": expires_in}, {"Cache-Control": "no-store"})


class ScriptedServer:
    """Serves queued answers on 127.0.0.1 from a daemon thread (one queue per kind of path).

    When the API queue is empty the answer is 599 "script exhausted", so a test that sends
    more than it scripted fails loudly.
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.tokens_issued = 0
        self._api: deque[Canned] = deque()
        self._token: deque[Canned] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5  # idle keep-alive connections close by themselves

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet test output

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
                canned = server._next(recorded)
                if canned.delay_s:
                    time.sleep(canned.delay_s)
                if canned.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                content, kind = _encode(canned.body)
                self.send_response_only(canned.status)
                if "Date" not in canned.headers:  # a scripted Date replaces the real one
                    self.send_header("Date", self.date_time_string())
                if kind:
                    self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(content)))
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD" and canned.status not in (204, 304):
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _next(self, recorded: Recorded) -> Canned:
        with self._lock:
            self.requests.append(recorded)
            if recorded.path.split("?")[0] == TOKEN_PATH:
                if self._token:
                    return self._token.popleft()
                self.tokens_issued += 1
                return token_response(f"token-{self.tokens_issued}")
            if self._api:
                return self._api.popleft()
        return Canned(599, b"script exhausted")

    def script(self, *answers: Canned) -> None:
        """Queue answers for API calls (anything but the token endpoint), in order."""
        with self._lock:
            self._api.extend(answers)

    def script_token(self, *answers: Canned) -> None:
        """Queue answers for the token endpoint (then it issues tokens by itself again)."""
        with self._lock:
            self._token.extend(answers)

    def api_requests(self) -> list[Recorded]:
        """Recorded requests other than token requests."""
        return [r for r in self.requests if r.path.split("?")[0] != TOKEN_PATH]

    @property
    def unused(self) -> int:
        """Scripted API answers not yet given."""
        with self._lock:
            return len(self._api)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (its timeout fired during a scripted stall) is the point of
        # the script, not an error worth a traceback on stderr.
        return


def _encode(body: Any) -> tuple[bytes, str | None]:
    if body is None:
        return b"", None
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/html; charset=utf-8"
    return json.dumps(body, ensure_ascii=False).encode(), "application/json"
