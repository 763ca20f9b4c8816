"""REST routes for bulk imports (``/api/v1/imports``): thin, over the import services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from retain.accounts.auth import caller_of
from retain.file_options import FORMATS, ROLES, build_file_options
from retain.ingest.import_answers import IMPORTED
from retain.ingest.import_history import Who
from retain.ingest.import_kinds import kind_of
from retain.ingest.models import ImportVia
from retain.ingest.saved_uploads import saved_for_now
from retain.ingest.upload_imports import import_upload
from retain.problems import problem_response

router = Router(tags=["imports"])


class ImportCounts(Schema):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    customers_created: int
    refunds_kept: int = Field(
        0,
        description="orders the file states with another status that stay refunded (a "
        "refund is never undone by stating the order again)",
    )


def _column(role: str) -> str:
    return Field(role, description=f"the file's column for {ROLES[role]} (default {role})")


class ImportOptions(Schema):
    """How to read the file: the ``retain import`` options, under the same names (snake
    case); built into the same reader options as the command line's."""

    customer_id: str = _column("customer_id")
    order_id: str = _column("order_id")
    ordered_at: str = _column("ordered_at")
    amount: str = _column("amount")
    status: str = _column("status")
    delimiter: str | None = Field(None, description=FORMATS["delimiter"])
    decimal: str = Field(".", description=FORMATS["decimal"])
    thousands: str | None = Field(None, description=FORMATS["thousands"])
    date_format: str | None = Field(None, description=FORMATS["date_format"])
    day_first: bool = Field(False, description=FORMATS["day_first"])
    month_first: bool = Field(False, description=FORMATS["month_first"])
    timezone: str = Field("UTC", description=FORMATS["timezone"])
    allow_moves: bool = Field(
        False,
        description="let an order or complaint already stored under one customer id move to "
        "the one the file gives (without it such a file is refused with the ids)",
    )


@router.post("/{kind}", response=ImportCounts, summary="Import a CSV or Parquet file")
def import_file(
    request: HttpRequest,
    kind: str,
    options: Query[ImportOptions],
    file: UploadedFile = File(...),  # noqa: B008
) -> dict | HttpResponse:
    """Upload ``file`` (multipart; CSV or Parquet by its name's suffix) of ``customers``,
    ``orders``, ``subscriptions``, ``complaints`` or ``survey-answers``. All of it is checked
    first: a bad file is refused whole (400, every problem listed) and nothing is stored.
    The query parameters say how to read it, as ``retain import``'s options do; a bad value
    is refused naming the parameter (422 for a wrong type, 400 for a value the reader does
    not take). Needs the ``import`` scope. The upload is at most ``RETAIN_UPLOAD_LIMIT_MB``
    and a Parquet file at most ``RETAIN_IMPORT_EXPANDED_MB`` uncompressed and
    ``RETAIN_IMPORT_ROW_LIMIT`` rows (413, said before it is read). A file without a column
    its kind requires is refused from its header, before the rest is read. The file is read
    and imported in a process of its own (the server goes on answering meanwhile), one upload
    at a time per workspace: another waits its turn for ``RETAIN_IMPORT_QUEUE_SECONDS``, then
    is refused with 503 and ``Retry-After``. A process that ends without finishing (killed,
    or past ``RETAIN_IMPORT_SECONDS``) is a 500 and nothing is stored. Every import, stored or
    refused, is kept in the imports' history (the console's Imports page)."""
    caller = caller_of(request, scope="import")
    kind_of(kind)
    given = options.dict()
    given["day_first"] = given["day_first"] or None  # false: not said (month_first says so)
    reading = build_file_options(given, spell=str)
    who = Who(
        via=ImportVia.API,
        actor=caller.key.name if caller.key else caller.user.get_username(),
        api_key_id=caller.key.pk if caller.key else None,
        user_id=caller.user.pk if caller.user else None,
    )
    with saved_for_now(file.chunks(), name=file.name or "") as upload:
        answer = import_upload(upload, kind, options=reading, who=who,
                               allow_moves=options.allow_moves)  # fmt: skip
    if answer.outcome == IMPORTED:
        return answer.result
    return problem_response(answer.problem)
