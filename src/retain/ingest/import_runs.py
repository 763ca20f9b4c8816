"""One import from start to end, recorded: the entry point that owns an import's transactions.

The services (:mod:`retain.ingest.imports`, :mod:`retain.ingest.import_history`) open none;
:func:`run_import` does, in the process that reads the file: ``retain import`` runs it
itself, and an upload's child process (:mod:`retain.ingest.import_child`) runs it for the
server. It opens

- one short transaction for the history row (``running``), unless the server already made it;
- the import's own atomic block (:func:`~retain.ingest.imports.write_block`), in which the
  row becomes ``imported``: the record of a stored file commits with its rows, so a process
  killed at any moment leaves a file either stored and recorded, or neither;
- one short transaction to record a refusal or a failure, after the block rolled back.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction

from retain.errors import RetainError
from retain.ingest.import_answers import CHECKED, FAILED, IMPORTED, REFUSED, Answer, ChildRequest
from retain.ingest.import_history import (
    Who,
    record_failed,
    record_imported,
    record_refused,
    start_import_run,
)
from retain.ingest.import_kinds import kind_of
from retain.ingest.imports import (
    CheckedImport,
    ImportResult,
    check_source,
    load_checked,
    wake_awaited,
    write_block,
)
from retain.ingest.lock_wait import waiting_at_most
from retain.io import FileOptions
from retain.problems import BUSY_DETAIL, BUSY_RETRY_AFTER, body_of, is_busy, problem_body

log = logging.getLogger(__name__)


def run_import(
    kind: str,
    source: str | Path | IO[bytes],
    *,
    name: str | None = None,
    options: FileOptions | None = None,
    allow_moves: bool = False,
    allow_moves_as: str = "--allow-moves",
    who: Who | None = None,
    run_id: int | None = None,
    wait_seconds: float | None = None,
) -> ImportResult:
    """Check a whole file, load it in one atomic block, and record the import.

    ``name`` is the file's name as its sender gave it (an upload's), ``who`` who sent it
    (default: the command line's user); ``run_id`` the history row the server already
    started for it. Its writes wait at most ``wait_seconds`` for the store's lock (default
    ``RETAIN_IMPORT_WAIT_SECONDS``). Refusals and failures are recorded, then raised as they
    came.

    Raises
    ------
    RetainError
        The file's problems (a :class:`~retain.errors.DataError` listing every one), a
        conflict with the store (moves, emails), an unknown kind: nothing stored.
    OperationalError
        The store stayed busy past the import's wait: nothing stored.
    """
    kind_of(kind)
    label = name or str(source)
    wait = settings.RETAIN_IMPORT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    if run_id is None:
        with waiting_at_most(wait), transaction.atomic():
            run_id = start_import_run(kind, file_name=label, who=who or Who.command_line()).pk
    rows_read = None
    try:
        checked = check_source(kind, source, name=name, options=options)
        rows_read = len(checked.rows)
        with ExitStack() as block:
            block.enter_context(write_block(checked, wait_seconds=wait))
            return _load_and_record(checked, block, run_id, allow_moves, allow_moves_as)
    except RetainError as error:
        with waiting_at_most(wait), transaction.atomic():
            record_refused(run_id, detail=error.message, details=error.details,
                           rows_read=rows_read)  # fmt: skip
        raise
    except Exception as error:
        reason = BUSY_DETAIL if is_busy(error) else f"{type(error).__name__}: {error}"
        with waiting_at_most(wait), transaction.atomic():
            record_failed(run_id, reason)
        raise


def _load_and_record(
    checked: CheckedImport, block: ExitStack, run_id: int, allow_moves: bool, allow_moves_as: str
) -> ImportResult:
    """Load within the import's atomic ``block`` and record it there, in one transaction.

    On SQLite the block writes its staged rows in one burst as it ends (outside any
    transaction until then, so the store's one write lock is held only for the burst): the
    block is closed inside a transaction opened for it, which takes the burst and the record
    together."""
    result = load_checked(checked, allow_moves=allow_moves, allow_moves_as=allow_moves_as)
    if checked.staged:
        with transaction.atomic():
            block.close()  # the burst, as a savepoint of this transaction
            _record(run_id, result)
    else:  # inside the block's own transaction
        _record(run_id, result)
    return result


def _record(run_id: int, result: ImportResult) -> None:
    record_imported(run_id, result)
    wake_awaited(result)


def import_file(
    kind: str,
    path: str | Path,
    *,
    options: FileOptions | None = None,
    allow_moves: bool = False,
) -> ImportResult:
    """``retain import KIND FILE``: :func:`run_import` of a file on disk, by its user."""
    return run_import(kind, path, options=options, allow_moves=allow_moves)


def answer_request(request: ChildRequest) -> Answer:
    """Carry out an upload's check or import in this process: the whole work of its child
    process (:mod:`retain.ingest.import_child`); every outcome is an answer."""
    options = FileOptions(**request.options)
    try:
        if request.action == "check":
            checked = check_source(request.kind, request.path, name=request.name,
                                   options=options)  # fmt: skip
            return Answer(CHECKED, rows=len(checked.rows))
        result = run_import(
            request.kind, request.path, name=request.name, options=options,
            allow_moves=request.allow_moves, allow_moves_as=request.allow_moves_as,
            run_id=request.run_id, wait_seconds=request.wait_seconds,
        )  # fmt: skip
        return Answer(IMPORTED, rows=result.rows, result=result.as_dict(), run_id=request.run_id)
    except RetainError as error:
        return Answer(REFUSED, problem=body_of(error), run_id=request.run_id)
    except Exception as error:
        if is_busy(error):
            busy = problem_body(503, "store_busy", BUSY_DETAIL, retry_after=BUSY_RETRY_AFTER)
            return Answer(FAILED, problem=busy, run_id=request.run_id)
        log.exception("the %s of %s failed", request.action, request.name)
        failed = problem_body(500, "import_failed", f"the {request.action} of {request.name} "
                              "failed on an unexpected error (the server's log says which); "
                              "nothing was imported")  # fmt: skip
        return Answer(FAILED, problem=failed, run_id=request.run_id)
