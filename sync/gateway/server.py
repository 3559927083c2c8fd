"""Running the reference gateway: foreground for the CLI, or a thread for demo and tests."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn

from sync.gateway.app import create_app
from sync.gateway.context import Clock, GatewaySettings

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 10.0


def _config(
    db_url: str, host: str, port: int, settings: GatewaySettings | None, clock: Clock | None
) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(db_url, settings=settings, clock=clock),
        host=host,
        port=port,
        # Quiet, and no access log: paths carry application ids, and bodies are never logged.
        log_level="warning",
        access_log=False,
        # No websocket endpoints; not loading a websocket library also keeps its deprecation
        # warnings out of the strict test run.
        ws="none",
        lifespan="on",
    )


def serve(host: str, port: int, db_url: str, *, settings: GatewaySettings | None = None) -> None:
    """Run the gateway in the foreground until interrupted (``madoguchi gateway``).

    Args:
        host: Interface to bind, e.g. ``127.0.0.1``.
        port: TCP port to listen on.
        db_url: SQLAlchemy URL of the gateway database.
        settings: Deployment settings; defaults when None.
    """
    uvicorn.Server(_config(db_url, host, port, settings, None)).run()


@dataclass
class RunningGateway:
    """A gateway serving from a background thread.

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:54321``.
        db_url: The database it serves from (open a ``GatewayStore`` on it to inspect state,
            or ``admin.add_device`` to register callers).
    """

    url: str
    db_url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    def stop(self) -> None:
        """Ask the server to finish its requests and exit, then wait for the thread."""
        self._server.should_exit = True
        self._thread.join(_STOP_TIMEOUT_S)
        self._socket.close()


def start_in_thread(
    db_url: str,
    host: str = "127.0.0.1",
    *,
    settings: GatewaySettings | None = None,
    clock: Clock | None = None,
) -> RunningGateway:
    """Start a gateway on a free port in a daemon thread and wait until it accepts requests.

    The socket is bound to port 0 before the server starts, so the port is known without the
    race of probing for a free one and binding it later. Several gateways may serve one
    database at once, as several workers would.

    Args:
        db_url: SQLAlchemy URL of the gateway database.
        host: Interface to bind; loopback by default.
        settings: Deployment settings; defaults when None.
        clock: Source of server time; the real clock when None.

    Returns:
        The running gateway; call ``stop()`` when done.

    Raises:
        RuntimeError: If the server did not start in time.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and
    # without it every response stalls ~40 ms on Nagle and delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(_config(db_url, host, port, settings, clock))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="madoguchi-gateway", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(_STOP_TIMEOUT_S)
                raise RuntimeError("gateway did not start")
            time.sleep(0.01)
    except BaseException:
        sock.close()
        raise
    authority = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
    return RunningGateway(
        url=f"http://{authority}", db_url=db_url, _server=server, _thread=thread, _socket=sock
    )
