"""One upload checked or imported at a time per workspace: a check or an import holds its
whole file, read and converted, in memory (several times the file's size), so a machine's
memory is bounded by one of them, not by how many clients upload at once (4 concurrent 86 MB
uploads took a server to 3.6 GB).

The turn is a lock on a file in the workspace (``RETAIN_HOME/imports.lock``), so every
server process of the workspace shares it (``--workers``, and the processes of one machine
on one PostgreSQL store that share the folder); the embedded store is one workspace's. The
kernel drops it with the process holding it: a crashed server never keeps it.

A second upload waits its turn for at most ``RETAIN_IMPORT_QUEUE_SECONDS`` (its body is
already spooled to disk, and it waits in its request's thread, not on the event loop), then
is refused with 503 and ``Retry-After``, having stored nothing. Its header is checked before
it waits (:mod:`retain.ingest.import_header`), so a bad file is refused at once.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from retain.errors import RetainError
from retain.store_config import FILE_MODE

#: How often a waiting upload tries the turn again.
POLL_SECONDS = 0.05


class ImportsBusy(RetainError):
    """Another upload was being imported for longer than the wait: send again later."""

    code = "imports_busy"

    def __init__(self, waited: float) -> None:
        retry_after = max(1, round(waited))
        super().__init__(
            f"another upload is being imported (one at a time); nothing was imported, send "
            f"the file again in {retry_after} seconds",
            status=503,
            retry_after=retry_after,
        )
        self.retry_after = retry_after


def turn_file() -> Path:
    """The file whose lock is the workspace's one turn."""
    return Path(settings.HOME) / "imports.lock"


@contextmanager
def upload_turn() -> Iterator[None]:
    """The workspace's one import turn, waited for at most ``RETAIN_IMPORT_QUEUE_SECONDS``.

    Raises
    ------
    ImportsBusy
        When the turn did not come in time.
    """
    waited = settings.RETAIN_IMPORT_QUEUE_SECONDS
    descriptor = os.open(turn_file(), os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        deadline = time.monotonic() + waited
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ImportsBusy(waited) from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(descriptor)  # the lock goes with it
