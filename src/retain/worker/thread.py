"""The job worker in a thread of another process: ``retain serve`` on the embedded store.

SQLite has one writer at a time whatever runs the jobs, so a worker process of its own buys
nothing there, and a thread dies with the server (no orphan left running when the server is
killed). The server's signals stop the thread: uvicorn restores the handlers found when it
started and raises the signal it caught again once it has shut down, so the handlers set here
see it, stop the worker between two jobs and end the process as the signal would have:
SIGINT as ``KeyboardInterrupt``, SIGTERM as a clean exit (also when it comes before uvicorn
has started).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

from retain.worker.loop import run_worker

logger = logging.getLogger(__name__)
#: How long a stopping server waits for the job in hand; a job cut short commits nothing.
STOP_SECONDS = 30.0
#: The pause before the worker tries again after an error outside any job (a locked store).
RETRY_SECONDS = 5.0


@contextmanager
def in_process_worker(*, poll_seconds: float = 0.5) -> Iterator[threading.Thread]:
    """Run the worker in a daemon thread for as long as the block runs.

    SIGTERM and SIGINT (in the main thread) stop the worker; leaving the block stops it too
    and waits up to :data:`STOP_SECONDS` for the job it is running.
    """
    stop = threading.Event()
    thread = threading.Thread(
        target=_work, args=(stop, poll_seconds), name="retain-worker", daemon=True
    )
    restore = _stop_on_signals(stop)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(STOP_SECONDS)
        if thread.is_alive():
            logger.warning(
                "the worker's job did not end within %.0f s; it is abandoned uncommitted "
                "and runs again on the next start",
                STOP_SECONDS,
            )
        for signum, handler in restore.items():
            signal.signal(signum, handler)


def _stop_on_signals(stop: threading.Event) -> dict[int, object]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(0)

    return {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}


def _work(stop: threading.Event, poll_seconds: float) -> None:
    """The thread's body: the worker loop, started again after an error outside any job
    (a job's own errors are the queue's to retry), until ``stop``."""
    try:
        while not stop.is_set():
            try:
                run_worker(poll_seconds=poll_seconds, stop=stop)
            except Exception:
                logger.exception("the in-process worker failed; trying again in %.0f s",
                                 RETRY_SECONDS)  # fmt: skip
                stop.wait(RETRY_SECONDS)
    finally:
        connections.close_all()
