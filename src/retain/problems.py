"""retain's errors as HTTP problem details (RFC 9457, ``application/problem+json``).

The only place that maps the error tree to status codes, for every door that speaks HTTP (the
REST API, the tracking API); each body carries the error's stable ``code`` and its details.
"""

from __future__ import annotations

import json
from typing import Any

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
}


def status_of(error: RetainError) -> int:
    if isinstance(error.details.get("status"), int):
        return error.details["status"]
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def problem(status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    body = {"type": f"urn:retain:error:{code}", "title": TITLES.get(status, "Error"),
            "status": status, "code": code, "detail": detail, **extra}  # fmt: skip
    return HttpResponse(
        json.dumps(body, default=str), status=status, content_type="application/problem+json"
    )


def problem_from(error: RetainError, **extra: Any) -> HttpResponse:
    """The error's problem details, with its own details and any ``extra`` members."""
    details = {k: v for k, v in error.details.items() if k != "status" and v is not None}
    return problem(status_of(error), error.code, error.message, **details, **extra)
