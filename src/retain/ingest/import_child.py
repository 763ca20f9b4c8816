"""The process that checks or imports an uploaded file for the server, away from it.

Reading, checking and converting a file holds Python's interpreter lock for seconds at a time
(pandas and Arrow calls); in the server's own process that made every tracking call wait
(p99 1.2 s during the CDNOW orders upload, docs/benchmarks.md). So the server saves the upload
(:mod:`retain.ingest.saved_uploads`) and runs, from the thread of its request,

    python -m retain.ingest.import_child

with a :class:`ChildRequest` as JSON on stdin, on the same store (``DATABASE_URL`` and
``RETAIN_HOME`` of the server's own connection and workspace). The child checks the file, or
imports and records it (:func:`retain.ingest.import_runs.answer_request`; its
:func:`~retain.ingest.import_runs.run_import` owns the transactions), and writes one
:class:`Answer` as JSON on stdout: the counts, or the problem with every problem of the file.
The server's side is :mod:`retain.ingest.upload_imports`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from retain.server import setup

CHECKED, IMPORTED, REFUSED, FAILED = "checked", "imported", "refused", "failed"


@dataclass(frozen=True)
class ChildRequest:
    """What the child is asked: ``check`` or ``import`` the file at ``path`` (``name`` as
    its sender gave it), read with ``options`` (:class:`~retain.io.FileOptions`' fields);
    an import records itself in the history row ``run_id``."""

    action: str
    kind: str
    path: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    allow_moves: bool = False
    allow_moves_as: str = "allow_moves=true"
    run_id: int | None = None
    #: How long its writes wait for the store's lock: the server's setting.
    wait_seconds: float | None = None


@dataclass(frozen=True)
class Answer:
    """What came of it: ``checked`` (``rows``), ``imported`` (``result``: the counts),
    ``refused`` (``problem``: the file's problems or a conflict with the store) or
    ``failed`` (``problem``: a 5xx saying why nothing was stored)."""

    outcome: str
    rows: int | None = None
    result: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None
    run_id: int | None = None
    #: The process that did the work (for the server's log, and to tell it was not the server).
    pid: int | None = None


def main() -> int:
    request = ChildRequest(**json.loads(sys.stdin.buffer.read()))
    setup()
    # Only now: the import's modules load Django's models, which need the settings.
    from retain.ingest.import_runs import answer_request

    said = replace(answer_request(request), pid=os.getpid())
    # One line, after a newline: a library that printed something leaves the answer last.
    sys.stdout.buffer.write(b"\n" + json.dumps(asdict(said), default=str).encode() + b"\n")
    sys.stdout.flush()
    return 0


def read_answer(stdout: bytes) -> Answer | None:
    """The child's answer from what it wrote (its last line), or ``None`` if it wrote none."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return Answer(**json.loads(lines[-1]))
    except (ValueError, TypeError):
        return None


if __name__ == "__main__":
    sys.exit(main())
