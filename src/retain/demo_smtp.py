"""A loopback SMTP server for ``retain demo``: it accepts every message and writes each to a
file (``1.eml``, ``2.eml``, ...), so the demo sends its journeys' emails through the real
sender and a new user can open what their customers would receive.

It speaks the part of SMTP (RFC 5321) a client such as ``smtplib`` needs: ``EHLO``/``HELO``,
``MAIL``, ``RCPT``, ``DATA`` (with dot-stuffing undone), ``RSET``, ``NOOP`` and ``QUIT``;
anything else is answered 502. The standard library only (the ``aiosmtpd`` the tests use is
not installed with the server extra). It listens on 127.0.0.1 only and delivers nowhere.
"""

from __future__ import annotations

import re
import socketserver
import threading
from pathlib import Path
from types import TracebackType

#: The longest message accepted, and the longest command line (RFC 5321 says 512 octets for
#: a command; a little more is tolerated).
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_LINE_BYTES = 2048
_NUMBERED = re.compile(r"(\d+)\.eml")


class OutboxSink:
    """The server, as a context manager: ``with OutboxSink(folder) as sink:`` listens on
    ``sink.port`` until the block ends. Messages are numbered after the files the folder
    holds already, so a second demo run keeps the first run's."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []
        self.port = 0
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._next = 1

    def __enter__(self) -> OutboxSink:
        self.folder.mkdir(parents=True, exist_ok=True)
        taken = [int(match[1]) for path in self.folder.iterdir()
                 if (match := _NUMBERED.fullmatch(path.name))]  # fmt: skip
        self._next = max(taken, default=0) + 1
        sink = self

        class Handler(_SmtpSession):
            outbox = sink

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="retain-demo-smtp", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def keep(self, content: bytes) -> Path:
        """Write one accepted message to the next numbered file."""
        with self._lock:
            path = self.folder / f"{self._next}.eml"
            self._next += 1
            path.write_bytes(content)
            self.written.append(path)
        return path


class _SmtpSession(socketserver.StreamRequestHandler):
    """One client connection: commands in, one reply each."""

    outbox: OutboxSink
    timeout = 60

    def handle(self) -> None:
        self._reply("220 localhost retain demo outbox ESMTP")
        self.sender: str | None = None
        self.recipients: list[str] = []
        while True:
            line = self.rfile.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            if len(line) > MAX_LINE_BYTES:
                self._reply("500 line too long")
                return
            verb, _, argument = line.decode("utf-8", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                self._reply("221 bye")
                return
            self._answer(verb, argument)

    def _answer(self, verb: str, argument: str) -> None:
        if verb == "EHLO":
            self._reset()
            self._reply("250-localhost", "250-8BITMIME", "250-SMTPUTF8",
                        f"250 SIZE {MAX_MESSAGE_BYTES}")  # fmt: skip
        elif verb == "HELO":
            self._reset()
            self._reply("250 localhost")
        elif verb == "MAIL" and argument.upper().startswith("FROM:"):
            self._reset()
            self.sender = argument[5:].strip()
            self._reply("250 OK")
        elif verb == "RCPT" and argument.upper().startswith("TO:"):
            if self.sender is None:
                self._reply("503 MAIL first")
            else:
                self.recipients.append(argument[3:].strip())
                self._reply("250 OK")
        elif verb == "DATA":
            self._data()
        elif verb == "RSET":
            self._reset()
            self._reply("250 OK")
        elif verb == "NOOP":
            self._reply("250 OK")
        else:
            self._reply("502 command not implemented")

    def _data(self) -> None:
        if not self.recipients:
            self._reply("503 RCPT first")
            return
        self._reply("354 end data with <CR><LF>.<CR><LF>")
        lines, size = [], 0
        while True:
            line = self.rfile.readline(MAX_MESSAGE_BYTES)
            if not line:
                return  # the client went away mid-message: nothing is kept
            if line in (b".\r\n", b".\n"):
                break
            size += len(line)
            if size <= MAX_MESSAGE_BYTES:  # past it, read to the end but keep nothing
                lines.append(line[1:] if line.startswith(b"..") else line)
        if size > MAX_MESSAGE_BYTES:
            self._reply("552 message too big")
        else:
            path = self.outbox.keep(b"".join(lines))
            self._reply(f"250 OK: kept as {path.name}")
        self._reset()

    def _reset(self) -> None:
        self.sender = None
        self.recipients = []

    def _reply(self, *lines: str) -> None:
        self.wfile.write("".join(f"{line}\r\n" for line in lines).encode())
