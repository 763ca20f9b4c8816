"""Where mail goes: the SMTP server of ``RETAIN_SMTP_URL`` and the sender of
``RETAIN_EMAIL_FROM``, read when the sender starts (never at import), and one connection to
that server, opened once for a batch and reused for every message in it.

``RETAIN_SMTP_URL`` is ``smtp://user:password@host:587?starttls=1`` (STARTTLS after the
greeting), ``smtps://user:password@host:465`` (TLS from the first byte) or
``smtp://host:25`` (no sign-in); the user and password are percent-decoded, so a password
with ``@`` or ``/`` is written ``%40`` or ``%2F``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings

from retain.errors import ConfigError

#: Seconds a connection waits for the server before it counts as down.
TIMEOUT_SECONDS = 30.0
_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class SmtpServer:
    """How to reach and sign in to the SMTP server (``repr`` hides the password)."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    #: TLS from the first byte (``smtps://``, usually port 465).
    implicit_tls: bool = False
    #: STARTTLS after the greeting (``?starttls=1``, usually port 587).
    starttls: bool = False
    timeout: float = TIMEOUT_SECONDS

    def __repr__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        tls = "?starttls=1" if self.starttls else ""
        return f"SmtpServer({scheme}://{user}{self.host}:{self.port}{tls})"

    @classmethod
    def from_url(cls, url: str, *, variable: str = "RETAIN_SMTP_URL") -> SmtpServer:
        """Read ``smtp://user:pass@host:port?starttls=1`` or ``smtps://...``; a
        :class:`~retain.errors.ConfigError` naming ``variable`` for anything else."""
        example = "e.g. smtp://user:password@mail.example.com:587?starttls=1"
        if not url or not url.strip():
            raise ConfigError(f"{variable} is not set: say which SMTP server sends mail, {example}")
        if "://" not in url:  # not echoed: it may hold a password
            raise ConfigError(
                f"{variable}: not a URL (it starts with smtp:// or smtps://), {example}"
            )
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ConfigError(
                f"{variable}: unknown scheme {parts.scheme!r}; use smtp:// or smtps://, {example}"
            )
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError:
            raise ConfigError(
                f"{variable}: the port is not a number from 1 to 65535, {example}"
            ) from None
        if not parts.hostname:
            raise ConfigError(f"{variable}: no host given, {example}")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(options) - {"starttls", "timeout"})
        if unknown:
            raise ConfigError(
                f"{variable}: unknown option {unknown[0]!r}; known: starttls, timeout"
            )
        starttls = options.get("starttls", "0").lower()
        if starttls not in _TRUE + _FALSE:
            raise ConfigError(f"{variable}: starttls={starttls!r}, expected 1 or 0")
        if scheme == "smtps" and starttls in _TRUE:
            raise ConfigError(f"{variable}: smtps:// is TLS already; drop starttls=1, {example}")
        try:
            timeout = float(options.get("timeout", TIMEOUT_SECONDS))
        except ValueError:
            raise ConfigError(
                f"{variable}: timeout={options['timeout']!r} is not seconds"
            ) from None
        if not 0 < timeout <= 600:
            raise ConfigError(f"{variable}: timeout={timeout:g} seconds, expected 0 to 600")
        username, password = unquote(parts.username or ""), unquote(parts.password or "")
        if password and not username:
            raise ConfigError(f"{variable}: a password without a user name, {example}")
        return cls(
            host=parts.hostname, port=port, username=username, password=password,
            implicit_tls=scheme == "smtps", starttls=starttls in _TRUE, timeout=timeout,
        )  # fmt: skip


def configured_server() -> SmtpServer:
    """The server of the ``RETAIN_SMTP_URL`` setting (from the environment)."""
    return SmtpServer.from_url(settings.RETAIN_SMTP_URL)


def configured_sender() -> str:
    """The ``From`` of ``RETAIN_EMAIL_FROM`` (``Shop <news@shop.example>`` or a bare address),
    checked: one address with a domain."""
    return sender_from(settings.RETAIN_EMAIL_FROM)


def sender_from(value: str, *, variable: str = "RETAIN_EMAIL_FROM") -> str:
    example = 'e.g. "Shop <news@shop.example>"'
    if not value or not value.strip():
        raise ConfigError(f"{variable} is not set: say who the mail comes from, {example}")
    if any(character in value for character in "\r\n\0"):
        raise ConfigError(f"{variable}: a line break or NUL in the address, {example}")
    found = getaddresses([value.strip()])
    if len(found) != 1 or "@" not in found[0][1]:
        raise ConfigError(f"{variable}: {value!r} is not one email address, {example}")
    name, address = found[0]
    local, _, domain = address.rpartition("@")
    if not local or not domain or "." not in domain:
        raise ConfigError(f"{variable}: {address!r} has no domain, {example}")
    return str(Address(display_name=name, addr_spec=address))


class Connection(Protocol):
    """What the sender needs of an SMTP connection (``smtplib.SMTP`` has it)."""

    def sendmail(self, from_addr: str, to_addrs: list[str], msg: bytes) -> dict: ...

    def quit(self) -> object: ...

    def close(self) -> None: ...


def open_connection(server: SmtpServer, *, local_hostname: str = "localhost") -> smtplib.SMTP:
    """A connection to ``server``, greeted, secured and signed in as configured.

    ``local_hostname`` names us in EHLO (the sender's domain): without it smtplib asks the
    resolver for this machine's name at each connection.
    """
    context = ssl.create_default_context()
    if server.implicit_tls:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, local_hostname=local_hostname,
            timeout=server.timeout, context=context,
        )  # fmt: skip
    else:
        connection = smtplib.SMTP(
            server.host, server.port, local_hostname=local_hostname, timeout=server.timeout
        )
    try:
        connection.ehlo()
        if server.starttls:
            connection.starttls(context=context)
            connection.ehlo()
        if server.username:
            connection.login(server.username, server.password)
    except BaseException:
        connection.close()
        raise
    return connection
