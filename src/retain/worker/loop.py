"""``retain worker``: run jobs as they come, until told to stop."""

from __future__ import annotations

import logging
import signal
import time

from django.db import close_old_connections

from retain.worker.services import run_next_job

logger = logging.getLogger(__name__)


def run_worker(*, poll_seconds: float = 0.5, max_jobs: int | None = None) -> int:
    """Poll the queue and run jobs; SIGTERM/SIGINT stop it between jobs. Returns jobs run."""
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    done = 0
    while not stopping and (max_jobs is None or done < max_jobs):
        close_old_connections()
        job = run_next_job()
        if job is None:
            time.sleep(poll_seconds)
            continue
        done += 1
        logger.info("ran %s", job)
    return done
