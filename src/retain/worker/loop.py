"""``retain worker``: run jobs as they come, until told to stop."""

from __future__ import annotations

import logging
import signal
import threading

from django.db import close_old_connections

from retain.worker.runner import run_next_job

logger = logging.getLogger(__name__)


def run_worker(
    *,
    poll_seconds: float = 0.5,
    max_jobs: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Poll the queue and run jobs until ``stop`` is set; the number of jobs run.

    Without ``stop`` (a worker process of its own) SIGTERM and SIGINT stop it, between jobs.
    A worker in a thread of another process passes the event its owner sets instead, since
    only the main thread may handle signals.
    """
    if stop is None:
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    done = 0
    while not stop.is_set() and (max_jobs is None or done < max_jobs):
        close_old_connections()
        job = run_next_job()
        if job is None:
            stop.wait(poll_seconds)
            continue
        done += 1
        logger.info("ran %s", job)
    return done
