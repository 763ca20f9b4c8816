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
from dataclasses import asdict, replace

from retain.ingest.import_answers import ChildRequest
from retain.server import setup


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


if __name__ == "__main__":
    sys.exit(main())
