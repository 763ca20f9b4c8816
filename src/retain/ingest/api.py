"""REST routes for bulk imports (``/api/v1/imports``): thin, over the import services."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from retain.accounts.auth import caller_of
from retain.ingest.imports import import_upload

router = Router(tags=["imports"])


class ImportCounts(Schema):
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    customers_created: int


@router.post("/{kind}", response=ImportCounts, summary="Import a CSV or Parquet file")
def import_file(request: HttpRequest, kind: str, file: UploadedFile = File(...)) -> dict:  # noqa: B008
    """Upload ``file`` (multipart; CSV or Parquet by its name's suffix) of ``customers``,
    ``orders``, ``subscriptions``, ``complaints`` or ``survey-answers``. All of it is checked
    first: a bad file is refused whole (400, every problem listed) and nothing is stored.
    Needs the ``import`` scope."""
    caller_of(request, scope="import")
    return import_upload(kind, file, name=file.name or "").as_dict()
