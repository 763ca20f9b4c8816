"""What the server and the import's child process say to each other (:mod:`retain.ingest.
import_child`): the request on the child's stdin, the answer as the last line of its stdout,
both JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

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


def read_answer(stdout: bytes) -> Answer | None:
    """The child's answer from what it wrote (its last line), or ``None`` if it wrote none."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return Answer(**json.loads(lines[-1]))
    except (ValueError, TypeError):
        return None
