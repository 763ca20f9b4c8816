"""The send jobs: one drains the outbox's email over SMTP, the other posts its webhooks, each
in transactions of its own that never span the network.

The worker runs a job inside the transaction that claimed the job's row (on SQLite, holding
the store's write lock). Talking SMTP there would hold that lock for as long as the server
takes, so the job only asks for the sending to start once that transaction has committed
(``transaction.on_commit``), in the same worker thread; :func:`run_sender` then opens its
own short transactions: one to claim a batch, one to record its outcomes.

The webhook job is registered with ``own_transactions``: the worker runs it once its claim
has committed, outside any transaction, and :func:`run_webhook_sender` opens the same two
short transactions per batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from retain.errors import ConfigError
from retain.messaging import webhook_sender
from retain.messaging.composing import ComposeOptions
from retain.messaging.sender import (
    BATCH_SIZE,
    LEASE,
    Mailer,
    backoff,
    claim_batch,
    deliver,
    record_outcomes,
    schedule_next,
)
from retain.messaging.services import SEND_JOB
from retain.messaging.smtp import Connection, configured_server, open_connection
from retain.messaging.webhooks import WEBHOOK_JOB, configured_secret
from retain.worker.registry import job

logger = logging.getLogger(__name__)
#: How long one run sends before it hands over to the next job (so a stopping worker, or
#: other jobs, wait at most about this long).
RUN_SECONDS = 20.0
#: When the settings are missing or wrong, the next try (after a fix and a restart, or the
#: next message queued).
CONFIG_RETRY = dt.timedelta(minutes=5)


@dataclass
class SendReport:
    """What one run did: outcomes counted by result, the batches, and why it stopped early
    (the server down, the settings wrong), if it did."""

    counts: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    stopped_because: str = ""


@job(SEND_JOB)
def send_messages(**wake: str) -> None:
    """Send what is due once the job's own transaction has committed (see the module)."""
    transaction.on_commit(_run_logged, robust=True)


def _run_logged() -> None:
    report = run_sender()
    logger.info("sent %s in %d batch(es)", report.counts, report.batches)


def run_sender(
    *,
    clock: Callable[[], dt.datetime] = timezone.now,
    connect: Callable[[], Connection] | None = None,
    options: ComposeOptions | None = None,
    batch_size: int = BATCH_SIZE,
    lease: dt.timedelta = LEASE,
    max_seconds: float = RUN_SECONDS,
    max_batches: int | None = None,
) -> SendReport:
    """Send due messages, batch after batch, for up to ``max_seconds`` (or ``max_batches``);
    then make sure a send job waits for what is left. Call it outside any transaction.

    ``connect`` opens an SMTP connection (default: ``RETAIN_SMTP_URL``), ``options`` say who
    sends and where links lead (default: the settings), ``clock`` is the time.
    """
    report = SendReport()
    try:
        options = options or ComposeOptions.from_settings()
        if connect is None:
            server = configured_server()
            domain = options.envelope_sender.rpartition("@")[2]

            def connect() -> Connection:
                return open_connection(server, local_hostname=domain)

    except ConfigError as error:
        logger.error("email is not sent: %s", error)
        report.stopped_because = str(error)
        with transaction.atomic():
            schedule_next(not_before=clock() + CONFIG_RETRY)
        return report
    mailer = Mailer(connect)
    started = time.monotonic()
    not_before = None
    try:
        while max_batches is None or report.batches < max_batches:
            with transaction.atomic():
                claim = claim_batch(now=clock(), limit=batch_size, lease=lease)
            if not claim.messages:
                break
            outcomes = deliver(claim, mailer=mailer, options=options, clock=clock)
            with transaction.atomic():
                record_outcomes(outcomes, lease_until=claim.lease_until, now=clock())
            report.batches += 1
            for outcome in outcomes:
                report.counts[outcome.result.value] = report.counts.get(outcome.result.value, 0) + 1
            if mailer.down:
                report.stopped_because = mailer.down
                # Ask the server again when the batch is due again (or, settings refused,
                # after a while to fix them), not at once for the next batch, which would
                # only be queued again.
                wait = (
                    CONFIG_RETRY if mailer.misconfigured
                    else backoff(min(o.attempts for o in outcomes))
                )  # fmt: skip
                not_before = clock() + wait
                break
            if time.monotonic() - started >= max_seconds:
                break
    finally:
        mailer.close()
        with transaction.atomic():
            schedule_next(not_before=not_before)
    return report


# Webhooks ---------------------------------------------------------------------------------


@job(WEBHOOK_JOB, own_transactions=True)
def send_webhooks(**wake: str) -> None:
    """Post what is due; the worker runs this outside any transaction (see the module)."""
    report = run_webhook_sender()
    logger.info("posted %s in %d batch(es)", report.counts, report.batches)


def run_webhook_sender(
    *,
    clock: Callable[[], dt.datetime] = timezone.now,
    secret: str | None = None,
    timeout: float = webhook_sender.TIMEOUT,
    post: webhook_sender.Post | None = None,
    batch_size: int = webhook_sender.BATCH_SIZE,
    lease: dt.timedelta = webhook_sender.LEASE,
    max_seconds: float = RUN_SECONDS,
    max_batches: int | None = None,
) -> SendReport:
    """Post due webhooks, batch after batch, for up to ``max_seconds`` (or ``max_batches``);
    then make sure a webhook job waits for what is left. Call it outside any transaction.

    ``secret`` signs the requests (default: ``RETAIN_WEBHOOK_SECRET``); ``post`` makes one
    request (default: :func:`~retain.messaging.webhook_sender.post_json`); ``clock`` is the
    time.
    """
    report = SendReport()
    try:
        secret = secret or configured_secret()
    except ConfigError as error:
        logger.error("webhooks are not posted: %s", error)
        report.stopped_because = str(error)
        with transaction.atomic():
            webhook_sender.schedule_webhooks(not_before=clock() + CONFIG_RETRY)
        return report
    started = time.monotonic()
    try:
        while max_batches is None or report.batches < max_batches:
            with transaction.atomic():
                claim = webhook_sender.claim_webhooks(now=clock(), limit=batch_size, lease=lease)
            if not claim.messages:
                break
            outcomes = webhook_sender.deliver_webhooks(
                claim, secret=secret, clock=clock, timeout=timeout, post=post
            )
            with transaction.atomic():
                webhook_sender.record_webhook_outcomes(
                    outcomes, lease_until=claim.lease_until, now=clock()
                )
            report.batches += 1
            for outcome in outcomes:
                report.counts[outcome.result.value] = report.counts.get(outcome.result.value, 0) + 1
            if time.monotonic() - started >= max_seconds:
                break
    finally:
        with transaction.atomic():
            webhook_sender.schedule_webhooks()
    return report
