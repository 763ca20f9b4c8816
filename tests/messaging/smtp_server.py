"""A real SMTP server on loopback for the tests (aiosmtpd), recording what it accepts.

It can refuse chosen recipients with a 4xx or 5xx answer (for a number of tries or for
good), hold a message before answering (to kill a sender mid-send), and be stopped and
started again on the same port (a server down, then back).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from retain.messaging.smtp import SmtpServer, open_connection


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class _Refusal:
    answer: str
    times: int | None  # None: for good


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    refusals: dict[str, _Refusal] = field(default_factory=dict)
    #: Hold the n-th message (counting from 1) before answering its DATA, until released.
    hold_at: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _data_count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self._lock:
            refusal = self.refusals.get(address.lower())
            if refusal is not None:
                if refusal.times is not None:
                    refusal.times -= 1
                    if refusal.times <= 0:
                        del self.refusals[address.lower()]
                return refusal.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self._lock:
            self._data_count += 1
            hold = self.hold_at is not None and self._data_count >= self.hold_at
        if hold:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 the test let go of this message"
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 Message accepted for delivery"


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1 at a port of its own, kept across stop() and start()."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller: Controller | None = None

    def start(self) -> SmtpTestServer:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.handler.release.set()
            self._controller.stop()
            self._controller = None

    @property
    def server(self) -> SmtpServer:
        return SmtpServer(host="127.0.0.1", port=self.port, timeout=5.0)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def connect(self) -> smtplib.SMTP:
        """A connection factory for the sender, as RETAIN_SMTP_URL would give it."""
        return open_connection(self.server, local_hostname="shop.example")

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def received_by(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    def refuse(self, address: str, answer: str, *, times: int | None = None) -> None:
        """Answer RCPT TO for ``address`` with ``answer`` (``times`` times, else for good)."""
        self.handler.refusals[address.lower()] = _Refusal(answer, times)

    def wait_for(self, count: int, *, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while len(self.handler.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.handler.received)} of {count} messages arrived")
            time.sleep(0.02)
