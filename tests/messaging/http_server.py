"""A real HTTP server on loopback for the webhook tests (``http.server`` in a thread),
recording every request it reads.

It answers 200 unless told otherwise: :meth:`HttpTestServer.answer` queues chosen answers
(a status, headers, a body) for the next requests, ``hang_up`` closes the connection without
answering, and ``hold_at`` keeps the n-th request unanswered until :attr:`release` is set
(to kill a sender mid-request). It can be stopped and started again on the same port (an
endpoint down, then back).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    #: Close the connection without answering.
    hang_up: bool = False


class HttpTestServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        #: Hold the n-th request (counting from 1) until :attr:`release` is set.
        self.hold_at: int | None = None
        self.holding = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order (then 200 again)."""
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> HttpTestServer:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering; the port refuses connections until :meth:`start` again."""
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
        self.release.clear()

    def _record(self, request: Request) -> tuple[Reply, bool]:
        with self._lock:
            self.requests.append(request)
            reply = self._replies.popleft() if self._replies else Reply()
            hold = self.hold_at == len(self.requests)
        return reply, hold


def _handler_for(owner: HttpTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = Request("POST", self.path, dict(self.headers.items()), body)
            reply, hold = owner._record(request)
            if hold:
                owner.holding.set()
                owner.release.wait(60)
            if reply.hang_up:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the tests read the requests, not a log

        def handle(self) -> None:
            # A sender killed mid-request leaves nothing to answer to.
            with contextlib.suppress(OSError):
                super().handle()

    return Handler


def refusing_url() -> str:
    """An address on loopback where nothing listens (the connection is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
