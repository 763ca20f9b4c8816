"""A stored message made into the email that goes on the wire.

The outbox keeps what the journey rendered; composing adds what depends on the message's row
and on where retain is served: CSS inlined into the HTML (``css_inline``, no stylesheet
fetched), every web link turned into a signed click redirect, the unsubscribe link and its
RFC 8058 headers for marketing, an optional open pixel, and a ``Message-ID`` derived from the
idempotency key. Composing the same row again gives the same message (bar its ``Date``): a
re-send after a crash carries the same ``Message-ID`` and the same links.

Headers are written as prepared text rather than through the header registry: they are few,
their values are checked when queued (no line breaks), and parsing them cost more than the
rest of composing. The unsubscribe URL in particular must stay one token: the registry would
fold a long URL into encoded words no client reads as a URL.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
import html
import re
from dataclasses import dataclass, field
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import urlsplit

import css_inline
from django.conf import settings
from django.urls import reverse

from retain.errors import ConfigError
from retain.messaging.models import Message
from retain.messaging.smtp import configured_sender
from retain.messaging.tokens import click_token, open_token, unsubscribe_token

#: Write this where a marketing message's body links to its unsubscribe page (``href`` and
#: text alike); composing puts the message's own signed link in its place.
UNSUBSCRIBE_URL_PLACEHOLDER = "%%unsubscribe_url%%"
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)
#: An ``href`` of a link in css_inline's output, which always quotes attributes with ``"``
#: and escapes ``"`` and ``&`` inside them.
_LINK = re.compile(r'(<(?:a|area)\b[^>]*?\shref=")([^"]*)(")', re.IGNORECASE)
_WEB = re.compile(r"https?://", re.IGNORECASE)
_BODY_END = re.compile(r"</body>", re.IGNORECASE)


@dataclass(frozen=True)
class ComposeOptions:
    """What composing needs beyond the message: who sends, where the links lead."""

    #: The ``From`` header: ``Shop <news@shop.example>``.
    sender: str
    #: Where retain's public pages are served, without a trailing slash.
    public_url: str
    open_tracking: bool = False
    _paths: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        name, address = parseaddr(self.sender)
        local, _, domain = address.rpartition("@")
        ascii_domain = _ascii_domain(domain)
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        self._paths.update(
            envelope=f"{local}@{ascii_domain}",
            domain=ascii_domain,
            from_header=formataddr((name, f"{local}@{ascii_domain}"), charset="utf-8"),
            # reverse() once: the prefix of each kind of link, the token appended.
            **{kind: self.public_url + reverse(f"messaging:{kind}", args=["T"])[:-1]
               for kind in ("unsubscribe", "click", "open")},
        )  # fmt: skip

    @classmethod
    def from_settings(cls) -> ComposeOptions:
        """``RETAIN_EMAIL_FROM``, ``RETAIN_PUBLIC_URL`` and ``RETAIN_EMAIL_OPEN_TRACKING``."""
        public_url = settings.RETAIN_PUBLIC_URL
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ConfigError(
                f"RETAIN_PUBLIC_URL: {public_url!r} is not where retain is served; "
                "e.g. https://retain.shop.example (the links in emails lead there)"
            )
        return cls(
            sender=configured_sender(),
            public_url=public_url,
            open_tracking=settings.RETAIN_EMAIL_OPEN_TRACKING,
        )

    @property
    def envelope_sender(self) -> str:
        """The bare address for ``MAIL FROM``."""
        return self._paths["envelope"]

    def link(self, kind: str, token: str) -> str:
        return self._paths[kind] + token


def message_id_for(key: str, domain: str) -> str:
    """The ``Message-ID`` of the message stored under ``key``: the same at every send."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def unsubscribe_url(message: Message, options: ComposeOptions) -> str:
    token = unsubscribe_token(
        message_id=message.pk, address=message.to_address, topic=message.topic
    )
    return options.link("unsubscribe", token)


def recipient(address: str) -> str:
    """``address`` as SMTP takes it: an internationalised domain in its ASCII form."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{_ascii_domain(domain)}"


def compose(message: Message, *, options: ComposeOptions, now: dt.datetime) -> EmailMessage:
    """The email for ``message`` as the stdlib's ``EmailMessage`` (the bytes of
    :func:`compose_bytes`, parsed): to look at, and to test."""
    wire = compose_bytes(message, options=options, now=now)
    return email.message_from_bytes(wire, policy=policy.default)  # type: ignore[return-value]


def compose_bytes(message: Message, *, options: ComposeOptions, now: dt.datetime) -> bytes:
    """The email for ``message`` as it goes on the wire: multipart/alternative with the text
    and the HTML (one part if it has only one of them), each UTF-8 in base64, CRLF lines.

    Written out directly rather than through ``EmailMessage`` and its generator, which
    parse again every header they were given and write each body line apart: that took
    longer than the SMTP exchange itself. What is written is plain MIME (the tests read it
    back with the stdlib's parser).
    """
    charset = "us-ascii" if message.subject.isascii() else "utf-8"
    headers = [
        ("From", options._paths["from_header"]),
        ("To", recipient(message.to_address)),
        ("Subject", Header(message.subject, charset, header_name="Subject").encode(linesep="\r\n")),
        ("Date", format_datetime(now.astimezone(dt.UTC))),
        ("Message-ID", message_id_for(message.idempotency_key, options._paths["domain"])),
        ("Content-Language", message.locale.replace("_", "-")),
    ]
    text, body = message.text, message.html
    if not message.transactional:
        link = unsubscribe_url(message, options)
        headers += [
            ("List-Unsubscribe", f"<{link}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]
        text = text.replace(UNSUBSCRIBE_URL_PLACEHOLDER, link)
        body = body.replace(UNSUBSCRIBE_URL_PLACEHOLDER, link)
    headers.append(("MIME-Version", "1.0"))
    parts = []
    if text or not body:
        parts.append(_text_part("plain", text))
    if body:
        parts.append(_text_part("html", prepare_html(body, message_id=message.pk, options=options)))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    if len(parts) == 1:
        return head + parts[0]
    # "=_" never occurs in base64, so the boundary cannot collide with a part's content.
    boundary = f"=_{hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:24]}"
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join([
        head, f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode(),
        delimiter[2:], delimiter.join(parts), f"\r\n--{boundary}--\r\n".encode("ascii"),
    ])  # fmt: skip


def _text_part(subtype: str, content: str) -> bytes:
    """A text part's headers and its content in base64 (lines of 76, ending in CRLF)."""
    encoded = base64.encodebytes(content.encode("utf-8")).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii") + encoded


def prepare_html(body: str, *, message_id: int, options: ComposeOptions) -> str:
    """CSS inlined, web links through the click redirect, the open pixel if asked."""
    inlined = _INLINER.inline(body)
    own = options.public_url + "/"

    def tracked(match: re.Match[str]) -> str:
        url = html.unescape(match.group(2)).strip()
        if not _WEB.match(url) or url.startswith(own):
            return match.group(0)  # mailto:, tel:, anchors, and our own pages stay as they are
        link = options.link("click", click_token(message_id=message_id, url=url))
        return f"{match.group(1)}{html.escape(link)}{match.group(3)}"

    inlined = _LINK.sub(tracked, inlined)
    if options.open_tracking:
        pixel = (
            f'<img src="{html.escape(options.link("open", open_token(message_id=message_id)))}"'
            ' width="1" height="1" alt="">'
        )
        inlined = _BODY_END.sub(lambda _: f"{pixel}</body>", inlined, count=1)
    return inlined


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    return domain.encode("idna").decode("ascii")
