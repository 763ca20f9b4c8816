"""Draining the outbox: claim a batch, talk SMTP, record what happened.

The three steps never share a transaction. Claiming marks a batch ``sending`` with a lease
(a short write, committed by the caller); SMTP runs outside any transaction, over one
connection for the batch; the outcomes are recorded in another short write. A sender killed
between the server's acceptance and that record leaves its batch ``sending``: once the lease
lapses another sender claims it and sends it again, under the same ``Message-ID`` (derived
from the idempotency key), so at most the batch in flight is delivered twice and nothing is
lost. :func:`retain.messaging.tasks.run_sender` owns the transactions; the functions here run
in its (the claim and the record) or in none (:func:`deliver`).

The clock and the connection factory are arguments, so tests drive time and a real SMTP
server on loopback instead of patching.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from django.db.models import F, Min

from retain.messaging.composing import ComposeOptions, compose_bytes, recipient
from retain.messaging.models import Channel, Message, MessageStatus
from retain.messaging.services import (
    suppress_bounced,
    suppression_reason,
    suppression_reasons,
    wake_sender,
)
from retain.messaging.smtp import Connection

logger = logging.getLogger(__name__)

#: Messages claimed at once: sent over one connection, recorded in one transaction.
BATCH_SIZE = 200
#: How long a claim holds. A batch takes about a second; a slow server may take much
#: longer, and a sender stops starting new messages once half the lease is gone.
LEASE = dt.timedelta(minutes=10)
#: Deliveries begun before a message that keeps failing for a passing reason fails.
MAX_ATTEMPTS = 8
#: The wait after the first temporary failure, doubled at each next one, up to the cap.
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)


def backoff(attempts: int) -> dt.timedelta:
    """How long a message waits after its ``attempts``-th delivery failed for a passing
    reason: 1, 2, 4, ... minutes, at most an hour."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


class Result(Enum):
    SENT = "sent"
    #: A passing failure (4xx, connection refused or lost): queued again after a backoff.
    RETRY = "retry"
    #: Not tried: the lease ran short. Queued again at once, the claim not counted.
    RELEASE = "release"
    BOUNCED = "bounced"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Outcome:
    message_id: int
    result: Result
    #: The server's answer or what went wrong, in plain words.
    detail: str = ""
    attempts: int = 0
    address: str = ""


@dataclass(frozen=True)
class Claim:
    """A batch a sender holds until ``lease_until`` (the claim's mark on its rows)."""

    messages: list[Message]
    lease_until: dt.datetime


def claim_batch(*, now: dt.datetime, limit: int = BATCH_SIZE, lease: dt.timedelta = LEASE) -> Claim:
    """Mark up to ``limit`` messages ``sending`` until ``now + lease``, in the caller's
    (short) transaction: first those whose lease lapsed (a sender died with them), then those
    due, oldest first. On PostgreSQL rows another sender is claiming are skipped, not waited
    for; on SQLite the transaction's write lock keeps claims apart.

    A send job is made to wait for the lease's end, so a batch whose sender dies is taken
    up again even when nothing else is queued.
    """
    lease_until = now + lease
    # A message whose sender died with it every time (one that crashes the process, say)
    # fails instead of taking every next sender down with it.
    # Webhooks have a sender of their own (``webhook_sender``): every query here is email's.
    emails = Message.objects.filter(channel=Channel.EMAIL)
    emails.filter(
        status=MessageStatus.SENDING, lease_until__lte=now, attempts__gte=MAX_ATTEMPTS
    ).update(
        status=MessageStatus.FAILED, lease_until=None,
        reason=f"the sender stopped while sending it, {MAX_ATTEMPTS} times",
    )  # fmt: skip

    def locked(rows):  # type: ignore[no-untyped-def]
        return rows.select_for_update(skip_locked=True, of=("self",))

    lapsed = locked(emails.filter(status=MessageStatus.SENDING, lease_until__lte=now)).order_by(
        "lease_until", "id"
    )
    ids = list(lapsed.values_list("id", flat=True)[:limit])
    if len(ids) < limit:
        due = locked(
            Message.objects.filter(
                status=MessageStatus.QUEUED, send_after__lte=now, channel=Channel.EMAIL
            )
        ).order_by("send_after", "id")
        ids += list(due.values_list("id", flat=True)[: limit - len(ids)])
    if not ids:
        return Claim(messages=[], lease_until=lease_until)
    Message.objects.filter(pk__in=ids).update(
        status=MessageStatus.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
    )
    wake_sender(at=lease_until)
    messages = list(Message.objects.filter(pk__in=ids).order_by("send_after", "id"))
    return Claim(messages=messages, lease_until=lease_until)


class Mailer:
    """One SMTP connection, opened at the first message and reused for the next ones.

    ``connect`` opens a connection (greeted and signed in). A connection kept from an
    earlier message that turns out closed (the server's idle timeout) gets one more try on a
    new one; any other failure to reach the server marks it :attr:`down`.
    """

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._connection: Connection | None = None
        #: Why the server could not be reached, once it could not (the run stops then).
        self.down: str = ""
        #: The server was reached but refused our settings (sign-in, TLS): no message's
        #: fault, so none loses an attempt to it.
        self.misconfigured = False

    def send(self, sender: str, to: str, content: bytes) -> None:
        """Hand one message to the server; raises what ``smtplib`` raises."""
        for last_try in (False, True):
            fresh = self._connection is None
            if fresh:
                try:
                    self._connection = self._connect()
                except OSError as error:  # refused, unreachable, TLS, sign-in (SMTPException)
                    self.down = _describe(error)
                    self.misconfigured = isinstance(error, _SETTINGS_REFUSED)
                    if self.misconfigured:
                        logger.error("the SMTP server refused our settings: %s", self.down)
                    raise
            try:
                self._connection.sendmail(sender, [to], content)
                return
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
                raise  # the server answered: the connection is fine
            except OSError as error:  # disconnected, reset, timed out
                self._drop()
                if fresh or last_try:
                    self.down = _describe(error)
                    raise

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
        self._connection = None

    def close(self) -> None:
        """Say goodbye to the server (QUIT) and close."""
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.quit()
            self._drop()


#: Errors of a connection that say the settings are wrong rather than the server away.
_SETTINGS_REFUSED = (
    smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, ssl.SSLError,
)  # fmt: skip


def deliver(
    claim: Claim,
    *,
    mailer: Mailer,
    options: ComposeOptions,
    clock: Callable[[], dt.datetime],
) -> list[Outcome]:
    """Send the claimed messages, outside any transaction; the outcome of each.

    Suppressions are read again first: an address may have unsubscribed or bounced since
    its message was queued. Once the server cannot be reached, the rest of the batch is
    queued again with a backoff. A message not tried because half the lease is gone, or
    because the server refused our settings, is released without its claim counting as an
    attempt.
    """
    reasons = suppression_reasons({message.to_address for message in claim.messages})
    halfway = claim.lease_until - (claim.lease_until - clock()) / 2
    outcomes = []
    for message in claim.messages:
        if mailer.down:
            result, detail = Result.RETRY, mailer.down
        elif (now := clock()) >= halfway:
            result, detail = Result.RELEASE, ""
        else:
            result, detail = _deliver_one(message, reasons, mailer, options, now)
        if mailer.misconfigured:
            result, detail = Result.RELEASE, mailer.down
        outcomes.append(
            Outcome(
                message.pk, result, detail, attempts=message.attempts, address=message.to_address
            )
        )
    return outcomes


def _deliver_one(
    message: Message,
    reasons: dict[str, list[tuple[str, str]]],
    mailer: Mailer,
    options: ComposeOptions,
    now: dt.datetime,
) -> tuple[Result, str]:
    suppressed = suppression_reason(
        reasons.get(message.to_address, ()), topic=message.topic,
        transactional=message.transactional,
    )  # fmt: skip
    if suppressed:
        return Result.SUPPRESSED, suppressed
    try:
        content = compose_bytes(message, options=options, now=now)
    except Exception as error:  # one message that cannot be written stops no batch
        logger.exception("message %s could not be composed", message.pk)
        return Result.FAILED, f"could not be composed: {error}"
    return _send_one(mailer, options.envelope_sender, recipient(message.to_address), content)


def _send_one(mailer: Mailer, sender: str, to: str, content: bytes) -> tuple[Result, str]:
    try:
        mailer.send(sender, to, content)
    except smtplib.SMTPRecipientsRefused as error:
        code, answer = next(iter(error.recipients.values()), (0, b""))
        detail = f"the server refused the recipient: {code} {_text(answer)}"
        return (Result.BOUNCED if 500 <= code < 600 else Result.RETRY), detail
    except smtplib.SMTPDataError as error:
        detail = f"the server refused the message: {error.smtp_code} {_text(error.smtp_error)}"
        return (Result.FAILED if 500 <= error.smtp_code < 600 else Result.RETRY), detail
    except smtplib.SMTPSenderRefused as error:
        # Our own address refused: a setting to fix, not the recipient's fault. Retried, and
        # failed after MAX_ATTEMPTS like any passing failure.
        return Result.RETRY, f"the server refused the sender: {_describe(error)}"
    except OSError as error:  # the server gone (smtplib's errors are OSErrors too)
        return Result.RETRY, _describe(error)
    return Result.SENT, ""


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, ConnectionRefusedError):
        return "the SMTP server refused the connection"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def record_outcomes(
    outcomes: Sequence[Outcome], *, lease_until: dt.datetime, now: dt.datetime
) -> None:
    """Write what happened to a batch, in the caller's (short) transaction.

    A message is only changed while it is still this claim's (``sending`` under the same
    lease): a message sent is recorded sent whatever became of the claim meanwhile, as the
    server has it.
    """
    by_result: dict[Result, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_result[outcome.result].append(outcome)
    ours = Message.objects.filter(status=MessageStatus.SENDING, lease_until=lease_until)
    if sent := by_result[Result.SENT]:
        Message.objects.filter(
            pk__in=[o.message_id for o in sent],
            status__in=[MessageStatus.SENDING, MessageStatus.QUEUED],
        ).update(
            status=MessageStatus.SENT, sent_at=now, lease_until=None, reason="", last_error=""
        )  # fmt: skip
    released: dict[str, list[int]] = defaultdict(list)
    for outcome in by_result[Result.RELEASE]:
        released[outcome.detail].append(outcome.message_id)
    for detail, ids in released.items():
        ours.filter(pk__in=ids).update(
            status=MessageStatus.QUEUED, send_after=now, lease_until=None,
            attempts=F("attempts") - 1, last_error=detail,
        )  # fmt: skip
    retry: dict[tuple[int, str], list[int]] = defaultdict(list)
    for outcome in by_result[Result.RETRY]:
        retry[outcome.attempts, outcome.detail].append(outcome.message_id)
    for (attempts, detail), ids in retry.items():
        if attempts >= MAX_ATTEMPTS:
            ours.filter(pk__in=ids).update(
                status=MessageStatus.FAILED, lease_until=None, last_error=detail,
                reason=f"gave up after {attempts} attempts; the last: {detail}",
            )  # fmt: skip
        else:
            ours.filter(pk__in=ids).update(
                status=MessageStatus.QUEUED, send_after=now + backoff(attempts),
                lease_until=None, last_error=detail,
            )  # fmt: skip
    for result, status in (
        (Result.FAILED, MessageStatus.FAILED),
        (Result.SUPPRESSED, MessageStatus.SUPPRESSED),
        (Result.BOUNCED, MessageStatus.BOUNCED),
    ):
        for outcome in by_result[result]:
            changed = ours.filter(pk=outcome.message_id).update(
                status=status, lease_until=None, reason=outcome.detail,
                last_error="" if result == Result.SUPPRESSED else outcome.detail,
            )  # fmt: skip
            if changed and result == Result.BOUNCED:
                suppress_bounced(
                    outcome.address, source="smtp bounce", message_id=outcome.message_id
                )


def schedule_next(*, not_before: dt.datetime | None = None) -> dt.datetime | None:
    """Make sure a send job waits for the next message due (or lease to lapse), not before
    ``not_before`` (a server found down is not asked again at once); when, or ``None`` if
    nothing waits to be sent."""
    queued = Message.objects.filter(status=MessageStatus.QUEUED, channel=Channel.EMAIL)
    sending = Message.objects.filter(status=MessageStatus.SENDING, channel=Channel.EMAIL)
    candidates = [
        queued.aggregate(at=Min("send_after"))["at"],
        sending.aggregate(at=Min("lease_until"))["at"],
    ]
    found = [at for at in candidates if at is not None]
    if not found:
        return None
    at = min(found)
    if not_before is not None:
        at = max(at, not_before)
    wake_sender(at=at)
    return at
