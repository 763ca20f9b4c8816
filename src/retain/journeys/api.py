"""REST routes for journeys (``/api/v1/journeys``): thin, over queries and services.

The server mounts this router behind the ``read`` or ``journeys`` scope (an API key holding
one, or a signed-in user whose role grants one); the routes that change a journey also need
``journeys`` itself, read from ``request.auth`` (the caller), so this app needs nothing from
``accounts``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Router
from ninja.responses import Status

from retain.errors import DataError, NotFound, PermissionDenied
from retain.journeys.documents import KEY_PATTERN
from retain.journeys.queries import get_journey, get_version, list_journeys
from retain.journeys.report import journey_report
from retain.journeys.schemas import (
    ApplyOut,
    JourneyDetailOut,
    JourneyOut,
    ReportOut,
    StatusOut,
    VersionDocumentOut,
)
from retain.journeys.services import (
    CREATED,
    apply_document,
    archive_journey,
    pause_journey,
    resume_journey,
)

router = Router(tags=["journeys"])

#: The scope that changes journeys (reading needs ``read`` or this one).
WRITE_SCOPE = "journeys"
#: The name the problems of a document sent to the API give as its file.
API_SOURCE = "api"
_YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/plain")
APPLY_BODY = {
    "required": True,
    "description": "The journey document: its YAML text as the body (text/yaml), the "
    'journey as JSON, or JSON `{"document": "<its YAML or JSON text>"}`. At most the '
    "server's body limit (RETAIN_BODY_LIMIT_MB, 1 MB by default).",
    "content": {
        "text/yaml": {"schema": {"type": "string"}},
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"document": {"type": "string"}},
                "required": ["document"],
            }
        },
    },
}


@router.get("", response=list[JourneyOut])
def list_all(request: HttpRequest) -> Any:
    """Every journey, by key: its status, current version and when that was applied."""
    return list_journeys()


@router.post(
    "",
    response={200: ApplyOut, 201: ApplyOut},
    summary="Apply a journey document",
    openapi_extra={"requestBody": APPLY_BODY},
)
def apply(request: HttpRequest) -> Any:
    """Check a journey document and store it: 201 with a new journey, 200 with a new version
    (a changed document) or with nothing changed (the same journey again, however written).
    A refused document is a 400 problem whose ``problems`` list every mistake as
    ``api:<line>: <path>: <reason>``; nothing is stored. Needs the ``journeys`` scope."""
    caller = _writer(request)
    text = _document_text(request)
    with transaction.atomic():
        outcome = apply_document(text, source=API_SOURCE, applied_by=_who(caller))
    return Status(201 if outcome.outcome == CREATED else 200, outcome)


@router.get("/{key}", response=JourneyDetailOut)
def get_one(request: HttpRequest, key: str) -> Any:
    """One journey with its versions, newest first."""
    detail = get_journey(_key(key))
    return {**vars(detail.journey), "versions": detail.versions}


@router.get("/{key}/versions/{number}", response=VersionDocumentOut)
def get_one_version(
    request: HttpRequest, key: str, number: int = Path(..., ge=1, le=2_147_483_647)
) -> Any:
    """A version as applied (its text) and as checked (its document, every field given)."""
    version = get_version(_key(key), number)
    return {**vars(version), "document": version.stored}


@router.get("/{key}/report", response=ReportOut)
def get_report(request: HttpRequest, key: str) -> Any:
    """Treatment against holdout over all the journey's versions: enrolled, converted,
    conversion rate, revenue per customer, the uplift with its 95 % interval and the
    incremental revenue (as ``retain journeys report KEY --json``)."""
    return journey_report(_key(key)).as_json()


@router.post("/{key}/pause", response=StatusOut)
def pause(request: HttpRequest, key: str) -> Any:
    """Stop enrolling and advancing until resumed (a paused journey: nothing changes; an
    archived one: 422). Needs the ``journeys`` scope."""
    return _change(request, key, pause_journey)


@router.post("/{key}/resume", response=StatusOut)
def resume(request: HttpRequest, key: str) -> Any:
    """Make a paused or archived journey active again. Needs the ``journeys`` scope."""
    return _change(request, key, resume_journey)


@router.post("/{key}/archive", response=StatusOut)
def archive(request: HttpRequest, key: str) -> Any:
    """Retire a journey; its versions stay (archived already: nothing changes). Needs the
    ``journeys`` scope."""
    return _change(request, key, archive_journey)


def _change(request: HttpRequest, key: str, change: Any) -> Any:
    _writer(request)
    with transaction.atomic():
        done = change(_key(key))
    return {**vars(done), "changed": done.changed}


def _writer(request: HttpRequest) -> Any:
    """The caller, if it holds the ``journeys`` scope (the router let in ``read`` too)."""
    caller = request.auth
    if WRITE_SCOPE not in caller.scopes:
        raise PermissionDenied(
            f"changing journeys needs the {WRITE_SCOPE!r} scope", scope=WRITE_SCOPE, status=403
        )
    return caller


def _who(caller: Any) -> str:
    if caller.key is not None:
        return f"api key {caller.key.name} ({caller.key.prefix})"
    return f"user {caller.user.get_username()}"


def _key(key: str) -> str:
    """A key no journey can have is not looked up (a NUL byte would fail on PostgreSQL)."""
    if not re.fullmatch(KEY_PATTERN, key):
        raise NotFound(f"no journey with the key {key!r}", key=key)
    return key


def _document_text(request: HttpRequest) -> str:
    """The document from the body: the text itself, or JSON ``{"document": "..."}``."""
    kind = request.content_type or ""
    try:
        raw = request.body
    except RequestDataTooBig:  # served over WSGI: the ASGI middleware refuses it earlier
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise DataError(f"the body is larger than {limit:,} bytes", field="(body)",
                        status=413) from None  # fmt: skip
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            f"the body is not UTF-8 text (byte {error.start + 1})", field="(body)"
        ) from None
    if kind != "application/json":
        if kind and kind not in _YAML_TYPES:
            raise DataError(
                f"send the document as text/yaml or as JSON, not {kind}", field="(body)"
            )
        return body
    try:
        given = json.loads(body)
    except (ValueError, RecursionError):
        raise DataError("the body is not JSON", field="(body)") from None
    if isinstance(given, dict) and set(given) == {"document"}:
        if not isinstance(given["document"], str):
            raise DataError("document: expected the journey's text (YAML or JSON), a string",
                            field="document")  # fmt: skip
        return given["document"]
    return body  # the journey itself, as JSON
