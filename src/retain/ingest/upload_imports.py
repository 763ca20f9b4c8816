"""The server's side of checking and importing an uploaded file: its header here (a bad one
refused at once, before any wait), then the workspace's one turn
(:mod:`retain.ingest.upload_turns`), then the work in a child process
(:mod:`retain.ingest.import_child`) that the request's thread waits for, so neither the
event loop nor the server's interpreter does the file's reading and checking.

Like the command, :func:`import_upload` owns the transactions of its history row (it starts
it, and marks it failed if the child ends without an answer); the request that calls it
holds none. A child that crashes, is killed or outlives ``RETAIN_IMPORT_SECONDS`` is a 500
problem (``import_failed``), never a half import: the child's import is one atomic block,
and its row says ``imported`` only in the transaction that stored the file.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

from django.conf import settings
from django.db import connection, transaction

from retain.errors import RetainError
from retain.ingest.import_answers import (
    FAILED,
    IMPORTED,
    REFUSED,
    Answer,
    ChildRequest,
    read_answer,
)
from retain.ingest.import_header import check_header
from retain.ingest.import_history import Who, record_failed, record_refused, start_import_run
from retain.ingest.lock_wait import waiting_at_most
from retain.ingest.models import ImportOutcome, ImportRun
from retain.ingest.saved_uploads import SavedUpload
from retain.ingest.upload_turns import upload_turn
from retain.io import FileOptions, check_parquet_size, file_type
from retain.problems import body_of, problem_body
from retain.store_config import url_of

log = logging.getLogger(__name__)
_CHILD = [sys.executable, "-m", "retain.ingest.import_child"]


def check_upload(upload: SavedUpload, kind: str, *, options: FileOptions) -> Answer:
    """Check a saved upload whole, storing nothing: ``checked`` with its rows, or
    ``refused`` with every problem.

    Raises
    ------
    ImportsBusy
        Another upload held the turn for longer than ``RETAIN_IMPORT_QUEUE_SECONDS``.
    """
    try:
        _check_header(upload, kind, options)
    except RetainError as error:
        return Answer(REFUSED, problem=body_of(error))
    request = ChildRequest("check", kind, str(upload.path), upload.name, asdict(options))
    with upload_turn():
        return run_child(request)


def import_upload(
    upload: SavedUpload,
    kind: str,
    *,
    options: FileOptions,
    who: Who,
    allow_moves: bool = False,
    allow_moves_as: str = "allow_moves=true",
) -> Answer:
    """Import a saved upload and record it (``run_id`` in the answer); a file refused from its
    header is recorded as refused at once.

    Raises
    ------
    ImportsBusy
        Another upload held the turn for longer than ``RETAIN_IMPORT_QUEUE_SECONDS``
        (nothing recorded: no import began).
    """
    try:
        _check_header(upload, kind, options)
    except RetainError as error:
        with _store_write():
            run_id = start_import_run(kind, file_name=upload.name, who=who).pk
            record_refused(run_id, detail=error.message, details=error.details)
        return Answer(REFUSED, problem=body_of(error), run_id=run_id)
    with upload_turn():
        with _store_write():
            run_id = start_import_run(kind, file_name=upload.name, who=who).pk
        request = ChildRequest(
            "import", kind, str(upload.path), upload.name, asdict(options),
            allow_moves=allow_moves, allow_moves_as=allow_moves_as, run_id=run_id,
            wait_seconds=settings.RETAIN_IMPORT_WAIT_SECONDS,
        )  # fmt: skip
        answer = run_child(request)
    if answer.outcome == FAILED and answer.run_id is None:  # the child said nothing
        return _after_silence(run_id, answer)
    return answer


@contextmanager
def _store_write() -> Iterator[None]:
    """A transaction of the history's own, waiting for the store's lock no longer than the
    import itself would (then busy: 503, nothing stored)."""
    with waiting_at_most(settings.RETAIN_IMPORT_WAIT_SECONDS), transaction.atomic():
        yield


def _check_header(upload: SavedUpload, kind: str, options: FileOptions) -> None:
    """What the file's first bytes say, before any wait: its type, a Parquet file's size and
    rows (its footer says, 413 over the limits), the columns of its header."""
    suffix = file_type(upload.name)
    with upload.path.open("rb") as file:
        if suffix in (".parquet", ".pq"):
            check_parquet_size(
                file, max_bytes=settings.RETAIN_IMPORT_EXPANDED_LIMIT,
                max_rows=settings.RETAIN_IMPORT_ROW_LIMIT, label=upload.name,
            )  # fmt: skip
        check_header(kind, file, name=upload.name, options=options)


def _after_silence(run_id: int, answer: Answer) -> Answer:
    """The child ended without an answer: its row says whether it stored the file (in the
    same transaction as the rows); one still ``running`` stored nothing and is failed."""
    with _store_write():
        marked = record_failed(run_id, answer.problem["detail"])
    if marked:
        return Answer(FAILED, problem=answer.problem, run_id=run_id)
    run = ImportRun.objects.get(pk=run_id)
    if run.outcome == ImportOutcome.IMPORTED:
        result = {"kind": run.kind, "rows": run.rows_read, "created": run.created,
                  "updated": run.updated, "unchanged": run.unchanged,
                  "customers_created": run.customers_created, "refunds_kept": 0}  # fmt: skip
        return Answer(IMPORTED, rows=run.rows_read, result=result, run_id=run_id)
    return Answer(FAILED, problem=answer.problem, run_id=run_id)


def child_environment() -> dict[str, str]:
    """The server's environment, on the store and workspace the server itself uses."""
    return {
        **os.environ,
        "DATABASE_URL": url_of(connection.settings_dict),
        "RETAIN_HOME": str(settings.HOME),
    }


def run_child(request: ChildRequest) -> Answer:
    """Run ``request`` in a child process and wait for its answer (in this thread, which
    holds no transaction meanwhile); one that ends without an answer, or is stopped after
    ``RETAIN_IMPORT_SECONDS``, is a ``failed`` answer without ``run_id``."""
    limit = settings.RETAIN_IMPORT_SECONDS
    payload = json.dumps(asdict(request)).encode()
    try:
        done = subprocess.run(_CHILD, input=payload, capture_output=True,
                              env=child_environment(), timeout=limit, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        log.error("the %s of %s was stopped after %s seconds", request.action, request.name, limit)
        return _no_answer(request, f"it took longer than {limit:g} seconds and was stopped")
    said = done.stderr.decode(errors="replace").strip()
    answer = read_answer(done.stdout) if done.returncode == 0 else None
    if answer is None:
        log.error("the %s of %s ended without an answer (exit %s): %s", request.action,
                  request.name, done.returncode, said[-4000:])  # fmt: skip
        return _no_answer(request, _ending(done.returncode))
    if said and answer.outcome == FAILED:
        log.error("the %s of %s failed: %s", request.action, request.name, said[-4000:])
    return answer


def _ending(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def _no_answer(request: ChildRequest, reason: str) -> Answer:
    detail = (
        f"the {request.action} of {request.name} ended without an answer ({reason}); nothing "
        f"of the file was stored, send it again"
    )
    return Answer(FAILED, problem=problem_body(500, "import_failed", detail))
