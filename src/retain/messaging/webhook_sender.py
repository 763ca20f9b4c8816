"""Posting the outbox's webhooks: claim a batch, POST each, record what happened.

As for email (:mod:`retain.messaging.sender`), the three steps never share a transaction:
the claim marks a batch ``sending`` with a lease (a short write the caller commits), the
requests run outside any transaction, and the outcomes are recorded in another short write.
A sender killed between an endpoint's answer and that record leaves its batch ``sending``;
once the lease lapses another sender posts it again, with the same ``Idempotency-Key`` and
the same body (a new timestamp and signature), so the receiver can tell the repeat.
:func:`retain.messaging.tasks.run_webhook_sender` owns the transactions.

Only the standard library talks HTTP (``http.client``): no redirect is followed (a POST
turned into a GET loses its body), no proxy is read from the environment, certificates are
verified.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import http.client
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from django.db.models import F, Min

from retain import __version__
from retain.messaging.models import Channel, Message, MessageStatus
from retain.messaging.sender import Claim, backoff
from retain.messaging.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    body_of,
    sign,
    wake_webhook_sender,
)

logger = logging.getLogger(__name__)

#: Webhooks claimed at once. Each is one request; a slow endpoint takes up to the timeout.
BATCH_SIZE = 50
#: How long a claim holds; a sender stops starting requests once half of it is gone.
LEASE = dt.timedelta(minutes=5)
#: Seconds to wait for an endpoint (to connect, then for each read).
TIMEOUT = 10.0
#: Requests begun before a webhook that keeps failing for a passing reason fails.
MAX_ATTEMPTS = 10
#: The longest wait a ``Retry-After`` answer is followed for.
RETRY_AFTER_CAP = dt.timedelta(days=1)
#: Statuses that say "later": the request timed out, too many requests, the server's trouble.
RETRIED_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
#: How much of an endpoint's refusal is kept as its reason.
ANSWER_EXCERPT = 300


class Result(Enum):
    SENT = "sent"
    #: A passing failure (408, 429, 5xx, no connection): queued again after a wait.
    RETRY = "retry"
    #: Not tried: the lease ran short. Queued again at once, the claim not counted.
    RELEASE = "release"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    message_id: int
    result: Result
    #: The endpoint's answer or what went wrong, in plain words.
    detail: str = ""
    attempts: int = 0
    #: How long to wait before the next attempt (a retry only): the endpoint's
    #: ``Retry-After`` if it gave one, else the backoff.
    wait: dt.timedelta | None = None


@dataclass(frozen=True)
class Answer:
    """What an endpoint answered: its status, reason phrase, ``Retry-After`` and the start
    of its body."""

    status: int
    phrase: str
    retry_after: str | None
    excerpt: str
    location: str | None = None


#: Posts ``body`` with ``headers`` to a URL within a timeout; raises ``OSError`` or
#: ``http.client.HTTPException`` when no answer came.
Post = Callable[[str, bytes, dict[str, str], float], Answer]


def claim_webhooks(
    *, now: dt.datetime, limit: int = BATCH_SIZE, lease: dt.timedelta = LEASE
) -> Claim:
    """Mark up to ``limit`` webhooks ``sending`` until ``now + lease``, in the caller's
    (short) transaction: first those whose lease lapsed (a sender died with them), then those
    due, oldest first; rows another sender is claiming are skipped on PostgreSQL. A webhook
    job is made to wait for the lease's end, so a batch whose sender dies is taken up again.
    """
    lease_until = now + lease
    webhooks = Message.objects.filter(channel=Channel.WEBHOOK)
    webhooks.filter(
        status=MessageStatus.SENDING, lease_until__lte=now, attempts__gte=MAX_ATTEMPTS
    ).update(
        status=MessageStatus.FAILED, lease_until=None,
        reason=f"the sender stopped while posting it, {MAX_ATTEMPTS} times",
    )  # fmt: skip

    def locked(rows):  # type: ignore[no-untyped-def]
        return rows.select_for_update(skip_locked=True, of=("self",))

    lapsed = locked(webhooks.filter(status=MessageStatus.SENDING, lease_until__lte=now))
    ids = list(lapsed.order_by("lease_until", "id").values_list("id", flat=True)[:limit])
    if len(ids) < limit:
        due = locked(webhooks.filter(status=MessageStatus.QUEUED, send_after__lte=now))
        ids += list(
            due.order_by("send_after", "id").values_list("id", flat=True)[: limit - len(ids)]
        )
    if not ids:
        return Claim(messages=[], lease_until=lease_until)
    Message.objects.filter(pk__in=ids).update(
        status=MessageStatus.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
    )
    wake_webhook_sender(at=lease_until)
    messages = list(Message.objects.filter(pk__in=ids).order_by("send_after", "id"))
    return Claim(messages=messages, lease_until=lease_until)


def headers_for(message: Message, body: bytes, *, secret: str, now: dt.datetime) -> dict[str, str]:
    """The request's headers: the content type, who posts, the idempotency key, the moment
    and the signature of both moment and body."""
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": f"retain/{__version__}",
        "Idempotency-Key": message.idempotency_key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def deliver_webhooks(
    claim: Claim,
    *,
    secret: str,
    clock: Callable[[], dt.datetime],
    timeout: float = TIMEOUT,
    post: Post | None = None,
) -> list[Outcome]:
    """POST the claimed webhooks one after another, outside any transaction; the outcome of
    each. Once an endpoint (scheme, host and port) could not be reached, the batch's other
    webhooks to it are retried later without trying it again, so a dead endpoint costs one
    timeout a batch. Those not tried because half the lease is gone are released."""
    post = post or post_json
    halfway = claim.lease_until - (claim.lease_until - clock()) / 2
    unreachable: dict[tuple[str, str, int | None], str] = {}
    outcomes = []
    for message in claim.messages:
        origin = _origin(message.url)
        now = clock()
        if now >= halfway:
            outcome = Outcome(message.pk, Result.RELEASE, attempts=message.attempts)
        elif origin in unreachable:
            outcome = _retry(message, unreachable[origin])
        else:
            outcome = _post_one(message, secret=secret, now=now, timeout=timeout, post=post)
            if outcome.result == Result.RETRY and outcome.wait is None:  # no answer at all
                unreachable[origin] = outcome.detail
        outcomes.append(_with_backoff(outcome))
    return outcomes


def _post_one(
    message: Message, *, secret: str, now: dt.datetime, timeout: float, post: Post
) -> Outcome:
    try:
        body = body_of(message.payload)
        headers = headers_for(message, body, secret=secret, now=now)
    except (TypeError, ValueError) as error:  # stored by hand, past the queue's checks
        return Outcome(message.pk, Result.FAILED, f"could not be written: {error}",
                       message.attempts)  # fmt: skip
    try:
        answer = post(message.url, body, headers, timeout)
    except http.client.InvalidURL as error:  # stored by hand, past the queue's checks
        return Outcome(message.pk, Result.FAILED, f"could not be posted: {error}",
                       message.attempts)  # fmt: skip
    except (OSError, http.client.HTTPException) as error:
        return _retry(message, _describe(error))
    except Exception as error:  # one webhook that cannot be posted stops no batch
        logger.exception("webhook %s could not be posted", message.pk)
        return Outcome(message.pk, Result.FAILED, f"could not be posted: {_describe(error)}",
                       message.attempts)  # fmt: skip
    described = f"the endpoint answered {answer.status} {answer.phrase}".rstrip()
    if 200 <= answer.status < 300:
        return Outcome(message.pk, Result.SENT, described, message.attempts)
    if answer.status in RETRIED_STATUSES:
        wait = _retry_after(answer.retry_after, now)
        detail = described + (f": {answer.excerpt}" if answer.excerpt else "")
        return Outcome(message.pk, Result.RETRY, detail, message.attempts,
                       wait=wait or backoff(message.attempts))  # fmt: skip
    if 300 <= answer.status < 400:
        detail = (f"{described}, to {answer.location or 'nowhere said'}: a webhook is not "
                  "redirected; give the step the address it leads to")  # fmt: skip
    else:
        detail = described + (f": {answer.excerpt}" if answer.excerpt else "")
    return Outcome(message.pk, Result.FAILED, detail, message.attempts)


def _retry(message: Message, detail: str) -> Outcome:
    return Outcome(message.pk, Result.RETRY, detail, message.attempts)


def _with_backoff(outcome: Outcome) -> Outcome:
    if outcome.result == Result.RETRY and outcome.wait is None:
        return Outcome(outcome.message_id, outcome.result, outcome.detail, outcome.attempts,
                       wait=backoff(outcome.attempts))  # fmt: skip
    return outcome


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port


def _retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """The wait an endpoint asked for: ``Retry-After`` in seconds or as an HTTP date, at
    least a second and at most :data:`RETRY_AFTER_CAP`; ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = dt.timedelta(seconds=int(value[:9]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        wait = when - now
    return min(max(wait, dt.timedelta(seconds=1)), RETRY_AFTER_CAP)


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "the endpoint refused the connection"
    if isinstance(error, TimeoutError):
        return "the endpoint did not answer in time"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``url`` over ``http.client``: no redirect followed, no proxy, the
    certificate verified; the answer, with at most :data:`ANSWER_EXCERPT` bytes of its
    body read."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=_tls_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(ANSWER_EXCERPT).decode("utf-8", "replace")
        return Answer(
            status=response.status, phrase=response.reason or "",
            retry_after=response.getheader("Retry-After"), excerpt=" ".join(excerpt.split()),
            location=response.getheader("Location"),
        )  # fmt: skip
    finally:
        connection.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The system's certificate authorities, read once, at the first https webhook."""
    return ssl.create_default_context()


def record_webhook_outcomes(
    outcomes: list[Outcome], *, lease_until: dt.datetime, now: dt.datetime
) -> None:
    """Write what happened to a batch, in the caller's (short) transaction. A webhook is
    only changed while it is still this claim's, except one the endpoint took: that is
    recorded sent whatever became of the claim meanwhile."""
    ours = Message.objects.filter(status=MessageStatus.SENDING, lease_until=lease_until)
    sent = [outcome.message_id for outcome in outcomes if outcome.result == Result.SENT]
    if sent:
        Message.objects.filter(
            pk__in=sent, status__in=[MessageStatus.SENDING, MessageStatus.QUEUED]
        ).update(
            status=MessageStatus.SENT, sent_at=now, lease_until=None, reason="", last_error=""
        )  # fmt: skip
    released = [outcome.message_id for outcome in outcomes if outcome.result == Result.RELEASE]
    if released:
        ours.filter(pk__in=released).update(
            status=MessageStatus.QUEUED, send_after=now, lease_until=None,
            attempts=F("attempts") - 1,
        )  # fmt: skip
    for outcome in outcomes:
        rows = ours.filter(pk=outcome.message_id)
        if outcome.result == Result.FAILED:
            rows.update(status=MessageStatus.FAILED, lease_until=None, reason=outcome.detail,
                        last_error=outcome.detail)  # fmt: skip
        elif outcome.result == Result.RETRY and outcome.attempts >= MAX_ATTEMPTS:
            rows.update(
                status=MessageStatus.FAILED, lease_until=None, last_error=outcome.detail,
                reason=f"gave up after {outcome.attempts} attempts; the last: {outcome.detail}",
            )  # fmt: skip
        elif outcome.result == Result.RETRY:
            assert outcome.wait is not None
            rows.update(status=MessageStatus.QUEUED, send_after=now + outcome.wait,
                        lease_until=None, last_error=outcome.detail)  # fmt: skip


def schedule_webhooks(*, not_before: dt.datetime | None = None) -> dt.datetime | None:
    """Make sure a webhook job waits for the next webhook due (or lease to lapse), not
    before ``not_before``; when, or ``None`` if nothing waits to be posted."""
    webhooks = Message.objects.filter(channel=Channel.WEBHOOK)
    candidates = [
        webhooks.filter(status=MessageStatus.QUEUED).aggregate(at=Min("send_after"))["at"],
        webhooks.filter(status=MessageStatus.SENDING).aggregate(at=Min("lease_until"))["at"],
    ]
    found = [at for at in candidates if at is not None]
    if not found:
        return None
    at = min(found)
    if not_before is not None:
        at = max(at, not_before)
    wake_webhook_sender(at=at)
    return at
