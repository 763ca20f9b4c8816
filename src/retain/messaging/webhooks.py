"""Webhooks: the JSON document a journey posts to the shop's endpoint (its SMS, LINE, Zalo or
WhatsApp provider, or its account managers' tool), how it is signed, and storing it in the
outbox.

A webhook is a row of the outbox like an email (channel ``webhook``): written once under an
idempotency key, in the caller's transaction, then posted by
:mod:`retain.messaging.webhook_sender`. The body is the stored payload written as compact
JSON with sorted keys, so every attempt posts the same bytes on either engine (PostgreSQL's
``jsonb`` does not keep the order of keys). Each attempt is signed anew: an HMAC-SHA256 of
``"<unix seconds>.<body>"`` with ``RETAIN_WEBHOOK_SECRET``, which the receiver recomputes
(:func:`verify_signature` shows how).

This module imports nothing of :mod:`retain.messaging.services`, which reaches it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from retain.errors import ConfigError, DataError
from retain.messaging.models import KEY_LENGTH, URL_LENGTH, Channel, Message, MessageStatus
from retain.worker.services import ensure_ready

#: The job that posts the webhooks (``retain.messaging.tasks``).
WEBHOOK_JOB = "messaging.webhooks"
#: The setting (or environment variable) holding the signing secret.
SECRET_SETTING = "RETAIN_WEBHOOK_SECRET"
#: The shortest secret taken: a short one can be guessed from signed bodies.
SECRET_MIN_LENGTH = 16
#: The largest body posted; providers refuse far smaller ones than a customer's whole
#: history, and a document this large is a mistake in what the step adds.
BODY_LIMIT = 256 * 1024
#: How far a receiver should accept a timestamp from its own clock (documented for them).
TIMESTAMP_TOLERANCE = dt.timedelta(minutes=5)
TIMESTAMP_HEADER = "X-Retain-Timestamp"
SIGNATURE_HEADER = "X-Retain-Signature"
#: An idempotency key travels as a header: printable ASCII only.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


# The document -----------------------------------------------------------------------------


def journey_step_payload(
    *,
    key: str,
    journey: str,
    step: str,
    occurred_at: dt.datetime,
    customer: dict[str, Any],
    entry: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """The documented payload of a journey's webhook step (docs/email.md, "Webhooks"):
    ``customer`` is ``{"id", "email", "name", "traits"}`` with the shop's own customer id;
    of ``entry`` (what entered the customer) its ``name``, ``properties`` and
    ``occurred_at`` are kept."""
    return {
        "id": key,
        "type": "journey.step",
        "journey": journey,
        "step": step,
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "customer": customer,
        "entry": {
            "name": entry.get("name"),
            "properties": entry.get("properties") or {},
            "occurred_at": entry.get("occurred_at"),
        },
        "data": data,
    }


def body_of(payload: Any) -> bytes:
    """The bytes posted for ``payload``: compact JSON, keys sorted, UTF-8. Raises
    ``ValueError`` (or ``TypeError``) for what JSON cannot write."""
    text = json.dumps(
        payload, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
    )
    return text.encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Retain-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of
    ``"<timestamp>.<body>"`` keyed with the secret's UTF-8 bytes."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    signature: str,
    body: bytes,
    now: dt.datetime,
    tolerance: dt.timedelta = TIMESTAMP_TOLERANCE,
) -> bool:
    """What a receiver does with a request (written here as the reference for the docs):
    the timestamp is within ``tolerance`` of its clock (a replayed request is refused once
    it is older), and the signature matches, compared in constant time."""
    if not timestamp.isdigit():
        return False
    sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def configured_secret() -> str:
    """The signing secret: the setting ``RETAIN_WEBHOOK_SECRET``, else the environment
    variable of that name. Raises :class:`~retain.errors.ConfigError` without one (the value
    is never echoed)."""
    secret = getattr(settings, SECRET_SETTING, None) or os.environ.get(SECRET_SETTING, "")
    if not secret:
        raise ConfigError(
            f"{SECRET_SETTING} is not set: webhooks are signed with it (e.g. 64 hex "
            f"characters from `python -c 'import secrets; print(secrets.token_hex(32))'`)",
            setting=SECRET_SETTING,
        )
    if len(secret) < SECRET_MIN_LENGTH:
        raise ConfigError(
            f"{SECRET_SETTING} is shorter than {SECRET_MIN_LENGTH} characters: too easy to "
            f"guess from the bodies it signs",
            setting=SECRET_SETTING,
        )
    return secret


# Checks -----------------------------------------------------------------------------------


def refuse_bad_arguments(
    *, key: Any, customer_id: Any, url: Any, payload: Any, source: Any
) -> None:
    """Raise :class:`~retain.errors.DataError` for what the caller (code, not a customer's
    data) got wrong, naming the field with the value."""
    problems: list[tuple[str, str, bool]] = [
        ("key", f"a webhook's idempotency key is 1 to {KEY_LENGTH} printable ASCII characters "
         "(it travels as the Idempotency-Key header)",
         isinstance(key, str) and len(key) <= KEY_LENGTH and bool(_HEADER_SAFE.fullmatch(key))),
        ("customer_id", "a customer id is the store's key of a customer (a positive integer)",
         isinstance(customer_id, int) and not isinstance(customer_id, bool) and customer_id > 0),
        ("url", "a webhook's url is an http:// or https:// address",
         isinstance(url, str) and _scheme(url) in ("http", "https")),
        ("url", f"a webhook's url is at most {URL_LENGTH} characters",
         isinstance(url, str) and len(url) <= URL_LENGTH),
        ("payload", "a webhook's payload is a JSON object (a dict)", isinstance(payload, dict)),
        ("source", "source is a JSON object without NUL characters",
         source is None or (isinstance(source, dict) and _json_problem(source) == "")),
    ]  # fmt: skip
    for column, rule, good in problems:
        if not good:
            value = {"key": key, "customer_id": customer_id, "url": url, "payload": payload,
                     "source": source}[column]  # fmt: skip
            raise DataError(rule, column=column, bad_rows=1, example={"key": key, column: value})


def _scheme(url: str) -> str:
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:  # an unclosed IPv6 bracket
        return ""


def url_problem(url: str) -> str:
    """What keeps an http(s) ``url`` from being posted to, in plain words ("" if nothing)."""
    url = url.strip()
    if any(character.isspace() or ord(character) < 0x20 or ord(character) == 0x7F
           for character in url):  # fmt: skip
        return f"the url has a space or a control character: {_shown(url)} (percent-encode it)"
    if not url.isascii():
        return (f"the url is not ASCII: {_shown(url)} (percent-encode the path, and write an "
                "internationalised domain in its xn-- form)")  # fmt: skip
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError as error:
        return f"the url cannot be read ({error}): {_shown(url)}"
    if port == 0:
        return f"the url's port is 0: {_shown(url)}"
    if not parts.hostname:
        return f"the url has no host: {_shown(url)}"
    if parts.username is not None or parts.password is not None:
        return ("the url carries a user name or password, which is not sent; put the "
                "endpoint's token in its query instead")  # fmt: skip
    return ""


def payload_problem(payload: dict[str, Any]) -> str:
    """What keeps ``payload`` from being stored and posted, in plain words ("" if nothing)."""
    problem = _json_problem(payload)
    if problem:
        return f"the payload {problem}"
    size = len(body_of(payload))
    if size > BODY_LIMIT:
        return f"the payload is {size:,} bytes as JSON, over the limit of {BODY_LIMIT:,}"
    return ""


def _json_problem(value: Any) -> str:
    try:
        body_of(value)
    except RecursionError:
        return "is nested too deeply to be written as JSON"
    except UnicodeEncodeError as error:
        return f"has a character that cannot be written ({error.reason})"
    except (TypeError, ValueError) as error:
        return f"cannot be written as JSON ({error})"
    if _has_nul(value):
        return "has a NUL character, which the store cannot keep"
    return ""


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _shown(value: str, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Storing ----------------------------------------------------------------------------------


def store_webhook(
    *,
    key: str,
    customer_id: int,
    url: str,
    payload: dict[str, Any],
    held_out: bool = False,
    source: dict[str, Any] | None = None,
) -> Message | None:
    """Write one webhook under ``key`` in the caller's transaction (what
    :func:`retain.messaging.services.queue_webhook` does); ``None`` if the key is stored
    already. Arguments the caller got wrong raise; an address that cannot be posted to or a
    payload that cannot be written is stored ``failed`` with the reason."""
    refuse_bad_arguments(key=key, customer_id=customer_id, url=url, payload=payload,
                         source=source)  # fmt: skip
    url = url.strip()
    now = timezone.now()
    problem = payload_problem(payload)
    storable = problem == ""
    problem = problem or url_problem(url)
    if held_out:
        status, reason = MessageStatus.HELD_OUT, "in the holdout group"
    elif problem:
        status, reason = MessageStatus.FAILED, problem
    else:
        status, reason = MessageStatus.QUEUED, ""
    message, created = Message.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "customer_id": customer_id, "channel": Channel.WEBHOOK, "to_address": "",
            "url": url, "payload": payload if storable else None, "subject": "",
            "source": source or {}, "status": status, "reason": reason, "send_after": now,
            "last_error": problem if status == MessageStatus.FAILED else "",
        },
    )  # fmt: skip
    if not created:
        return None
    if status == MessageStatus.QUEUED:
        wake_webhook_sender(at=now)
    return message


def wake_webhook_sender(*, at: dt.datetime) -> None:
    """Make sure a webhook job waits to run at ``at`` (or sooner), in the caller's
    transaction: one job for everything due now and one per minute of a later moment, as
    :func:`retain.messaging.services.wake_sender` does for email."""
    now = timezone.now()
    if at <= now:
        ensure_ready(WEBHOOK_JOB, "wake", ["now"])
        return
    minute = at.astimezone(dt.UTC).replace(second=0, microsecond=0)
    ensure_ready(WEBHOOK_JOB, "wake", [minute.isoformat()], delay=at - now)
