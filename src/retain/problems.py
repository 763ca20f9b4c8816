"""retain's errors as HTTP problem details (RFC 9457, ``application/problem+json``).

The only place that maps the error tree to status codes, for every door that speaks HTTP (the
REST API, the tracking API); each body carries the error's stable ``code`` and its details.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import OperationalError
from django.http import HttpResponse

from retain.errors import (
    ConfigError,
    Conflict,
    DataError,
    NotFound,
    PermissionDenied,
    RetainError,
    RuleViolation,
)

STATUS = {
    DataError: 400,
    RuleViolation: 422,
    NotFound: 404,
    Conflict: 409,
    PermissionDenied: 403,
    ConfigError: 500,
}
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}
#: Seconds a client is told to wait before sending again a call the store was too busy for.
BUSY_RETRY_AFTER = 5
BUSY_DETAIL = (
    "the store is busy with other writes; nothing was stored, send the request again in "
    f"{BUSY_RETRY_AFTER} seconds"
)
#: PostgreSQL's refusals that mean "busy, try again": a lock not obtained within
#: ``lock_timeout``, a statement cancelled by ``statement_timeout``, a serialization failure
#: and a deadlock (SQLSTATE codes).
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "40001", "40P01"})


def status_of(error: RetainError) -> int:
    if isinstance(error.details.get("status"), int):
        return error.details["status"]
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A problem's members as plain JSON values (what :func:`problem` sends)."""
    body = {"type": f"urn:retain:error:{code}", "title": TITLES.get(status, "Error"),
            "status": status, "code": code, "detail": detail, **extra}  # fmt: skip
    return json.loads(json.dumps(body, default=str))


def body_of(error: RetainError, **extra: Any) -> dict[str, Any]:
    """The error's problem members: its own details and any ``extra`` members."""
    details = {k: v for k, v in error.details.items() if k != "status" and v is not None}
    return problem_body(status_of(error), error.code, error.message, **details, **extra)


def problem_response(body: dict[str, Any]) -> HttpResponse:
    """A problem whose members were made elsewhere (another process's, as JSON): its status
    is its ``status``, and a ``retry_after`` member is also sent as ``Retry-After``."""
    response = HttpResponse(
        json.dumps(body, default=str), status=body["status"],
        content_type="application/problem+json",
    )  # fmt: skip
    if isinstance(body.get("retry_after"), int):
        response["Retry-After"] = str(body["retry_after"])
    return response


def problem(status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    return problem_response(problem_body(status, code, detail, **extra))


def problem_from(error: RetainError, **extra: Any) -> HttpResponse:
    """The error's problem details, with its own details and any ``extra`` members."""
    return problem_response(body_of(error, **extra))


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says the database could not take the write now (SQLite's "database
    is locked" after its busy timeout, PostgreSQL's lock or statement timeouts): the request
    did nothing and may be sent again."""
    if not isinstance(error, OperationalError):
        return False
    if getattr(error.__cause__, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    text = str(error).lower()
    return "database is locked" in text or "database table is locked" in text


def busy(*, segment: bool = False) -> HttpResponse:
    """503 with ``Retry-After``: the store was busy and nothing of the request was stored
    (Segment's clients, like most HTTP clients, send again after a 5xx); ``segment`` adds the
    members Segment's clients read (``message``, ``success``)."""
    extra: dict[str, Any] = {"message": BUSY_DETAIL, "success": False} if segment else {}
    response = problem(503, "store_busy", BUSY_DETAIL, **extra)
    response["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response
