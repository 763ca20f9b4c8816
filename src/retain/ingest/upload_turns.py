"""One upload import at a time per server process: an import holds its whole file, read and
converted, in memory (several times the file's size), so the server's memory is bounded by
one import, not by how many clients upload at once (4 concurrent 86 MB uploads took a server
to 3.6 GB).

A second upload waits its turn for at most ``RETAIN_IMPORT_QUEUE_SECONDS`` (its body is
already spooled to disk, and it waits in its own thread, not on the event loop), then is
refused with 503 and ``Retry-After``, having stored nothing. Its header is checked before it
waits (:mod:`retain.ingest.import_header`), so a bad file is refused at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from retain.errors import RetainError

#: Held by the upload being imported.
TURN = threading.Lock()


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


@contextmanager
def upload_turn() -> Iterator[None]:
    """This process's one import turn, waited for at most ``RETAIN_IMPORT_QUEUE_SECONDS``.

    Raises
    ------
    ImportsBusy
        When the turn did not come in time.
    """
    waited = settings.RETAIN_IMPORT_QUEUE_SECONDS
    if not TURN.acquire(timeout=waited):
        raise ImportsBusy(waited)
    try:
        yield
    finally:
        TURN.release()
