"""What the OpenAPI document adds to Ninja's: every refusal a route can answer, in
problem+json, the security of every route, and the tracking door.

Ninja documents a route's success and the security it enforces itself; retain's refusals are
``HttpResponse`` objects built by :mod:`retain.problems` (and by the body limits of
:mod:`retain.server.middleware`), so Ninja cannot see them. They are listed here, next to the
reason each route gives them; ``tests/server/test_schemathesis.py`` fuzzes a live server with
this document and fails on any status code it does not list. The tracking door
(:mod:`retain.ingest.tracking`) is a plain Django view, so its paths are described here too.
"""

from __future__ import annotations

import copy
from typing import Any

from retain.ingest.services import BATCH_LIMIT, CALL_LIMIT

PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "A refusal (RFC 9457 problem details); ``code`` is retain's stable error "
    "code, and the members beyond the standard ones name what was wrong (``field``, "
    "``parameter``, ``errors``, ``example``...).",
    "type": "object",
    "properties": {
        "type": {"type": "string", "description": "urn:retain:error:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "code", "detail"],
    "additionalProperties": True,
}
#: Security schemes beyond Ninja's (the tracking door's Segment-style Basic write key).
WRITE_KEY = {"type": "http", "scheme": "basic",
             "description": "an API key with the track scope as the HTTP Basic user "
             "(Segment's write key; the password is ignored)"}  # fmt: skip
#: A throttled call says when to try again (:mod:`retain.accounts.throttle`).
RETRY_AFTER = {"description": "seconds until a new attempt is taken", "required": True,
               "schema": {"type": "integer", "minimum": 1}}  # fmt: skip
KEY_OR_SESSION = [{"BearerKey": []}, {"SessionUser": []}]

#: Why a route may refuse, for the refusals every route of a kind shares.
UNAUTHENTICATED = "no credentials, or an unknown, expired or revoked API key"
FORBIDDEN = (
    "the API key or the user's role lacks the scope, or a signed-in write lacks the CSRF token"
)
INVALID = "a parameter or the body does not match this document (each error names it)"
SLOW_BODY = "the body did not arrive within the server's time limit"
TOO_LARGE = "the body is larger than the limit for this route"
BUSY = ("the store could not take the write in time (another write held it); nothing was "
        "stored: send again after Retry-After seconds")  # fmt: skip

#: What each route answers beyond the shared refusals, and why.
ROUTE_REFUSALS: dict[tuple[str, str], dict[int, str]] = {
    ("get", "/api/v1/customers"): {
        422: "a page out of 1..1000000, a page_size out of 1..200, an unknown filter, or "
        "text holding a NUL byte",
    },
    ("get", "/api/v1/customers/{customer_id}"): {
        400: "orders_page is not a whole number from 1 to 1000000 (the problem names it)",
        404: "no customer with this id",
    },
    ("post", "/api/v1/imports/{kind}"): {
        400: "the file is refused whole (every problem listed), or an option the reader does "
        "not take",
        404: "an unknown kind",
        409: "the file moves orders or complaints to another customer (see allow_moves)",
        413: "the upload, or a Parquet file's uncompressed size or rows, is over the limit",
        500: "the import's own process ended without an answer (killed, crashed, or past "
        "RETAIN_IMPORT_SECONDS); nothing was imported",
        503: "another upload was being imported for longer than RETAIN_IMPORT_QUEUE_SECONDS "
        "(one at a time per workspace), or the store was busy; nothing was imported: "
        "send again after Retry-After seconds",
    },
    ("post", "/api/v1/auth/login"): {
        401: "wrong username or password",
        403: "no CSRF token (GET /api/v1/auth/csrf gives it)",
        429: "too many wrong passwords for the account or from the address (Retry-After)",
    },
    ("get", "/api/v1/journeys/{key}"): {404: "no journey with this key"},
    ("get", "/api/v1/journeys/{key}/versions/{number}"): {
        404: "no journey with this key, or no such version of it",
    },
    ("get", "/api/v1/journeys/{key}/report"): {404: "no journey with this key"},
    ("post", "/api/v1/journeys"): {
        400: "the document is refused (its problems listed in problems, each with its line), "
        "or the body is not UTF-8 text, YAML or JSON",
        409: "another apply created the same journey at the same moment; apply again",
    },
    ("post", "/api/v1/journeys/{key}/pause"): {
        404: "no journey with this key",
        422: f"{INVALID}, or the journey is archived (resume it instead)",
    },
    ("post", "/api/v1/journeys/{key}/resume"): {404: "no journey with this key"},
    ("post", "/api/v1/journeys/{key}/archive"): {404: "no journey with this key"},
    ("post", "/api/v1/auth/logout"): {403: "a signed-in session without the CSRF token"},
    ("get", "/api/v1/auth/me"): {401: "not signed in"},
}
#: The security of routes that check the caller themselves (Ninja sees no ``auth=``):
#: ``[]`` is "no credentials needed", ``{}`` in a list "optional".
ROUTE_SECURITY: dict[tuple[str, str], list[dict[str, list[str]]]] = {
    ("post", "/api/v1/imports/{kind}"): KEY_OR_SESSION,
    ("get", "/api/v1/auth/csrf"): [],
    ("post", "/api/v1/auth/login"): [],
    ("post", "/api/v1/auth/logout"): [{}, {"SessionUser": []}],
    ("get", "/api/v1/auth/me"): [{"SessionUser": []}],
}
SECURED_BY_NINJA = {
    ("get", "/api/v1/customers"), ("get", "/api/v1/customers/{customer_id}"),
    ("get", "/api/v1/journeys"), ("post", "/api/v1/journeys"), ("get", "/api/v1/journeys/{key}"),
    ("get", "/api/v1/journeys/{key}/versions/{number}"), ("get", "/api/v1/journeys/{key}/report"),
    ("post", "/api/v1/journeys/{key}/pause"), ("post", "/api/v1/journeys/{key}/resume"),
    ("post", "/api/v1/journeys/{key}/archive"),
}  # fmt: skip
#: Parameters a route reads as text, to answer anything else with a 400 of its own rather than
#: the schema's 422, described here as what they take.
PARAMETER_SCHEMAS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("get", "/api/v1/customers/{customer_id}"): {
        "orders_page": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    },
}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (Ninja's) with the refusals, the security and the tracking door added."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {})["WriteKey"] = WRITE_KEY
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = (method, path)
            if route in ROUTE_SECURITY:
                operation["security"] = ROUTE_SECURITY[route]
            elif route not in SECURED_BY_NINJA:
                raise ValueError(f"{method.upper()} {path}: say its security in ROUTE_SECURITY")
            _add_refusals(operation, _shared_refusals(operation) | ROUTE_REFUSALS.get(route, {}))
            for parameter in operation.get("parameters", []):
                schema = PARAMETER_SCHEMAS.get(route, {}).get(parameter["name"])
                if schema is not None:
                    parameter["schema"] = {**schema, "title": parameter["schema"].get("title")}
    document["paths"].update(tracking_paths())
    return document


def _shared_refusals(operation: dict[str, Any]) -> dict[int, str]:
    refusals = {}
    if operation.get("parameters") or "requestBody" in operation:
        refusals[422] = INVALID
    if operation.get("security") == KEY_OR_SESSION:  # an API key or a session, by scope
        refusals |= {401: UNAUTHENTICATED, 403: FORBIDDEN}
    if "requestBody" in operation:
        refusals |= {408: SLOW_BODY, 413: TOO_LARGE, 503: BUSY}
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        refusals[400] = "the body is not JSON"
    return refusals


def _add_refusals(operation: dict[str, Any], refusals: dict[int, str]) -> None:
    responses = operation.setdefault("responses", {})
    for status, reason in sorted(refusals.items()):
        responses[status] = {
            "description": reason,
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
        if status in (429, 503):
            responses[status]["headers"] = {"Retry-After": RETRY_AFTER}


# The tracking door ---------------------------------------------------------------------------

#: Left untyped here so fuzzing reaches the door's own checks (which refuse a number or a
#: blank string, as Segment's spec has ids as strings) rather than stopping at the schema.
_ID = {"description": "an id: a string, never blank (anything else is refused with 400)"}
_OBJECT = {"type": ["object", "null"]}
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601; no zone is UTC"}
#: Read only with a ``timestamp`` (the door corrects the client's clock with it).
_SENT_AT = {"description": "when the client sent it, ISO 8601: corrects the timestamp for the "
            "client's clock"}  # fmt: skip
#: Read only when no ``Authorization`` header is sent (then it must be a key's text).
_WRITE_KEY = {"description": "the write key, when no Authorization header is sent"}
_COMMON_FIELDS: dict[str, Any] = {
    "messageId": {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "pattern": r"\S",
        "description": "unique per message: a repeat is stored once",
    },
    "userId": _ID,
    "anonymousId": _ID,
    "timestamp": {
        **_TIME,
        "type": ["string", "null"],
        "description": "when it happened, ISO 8601 (default: when received)",
    },
    "sentAt": _SENT_AT,
    "context": _OBJECT,
    "integrations": _OBJECT,
    "properties": _OBJECT,
    "traits": _OBJECT,
}
#: Each call's own fields and the fields it requires (besides ``messageId``).
_CALLS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "identify": ({}, []),
    "track": (
        {
            "event": {
                "type": "string",
                "minLength": 1,
                "description": "e.g. Order Completed, Order Refunded",
            }
        },
        ["event"],
    ),
    "page": ({"name": {"description": "the page's name"}}, []),
    "screen": ({"name": {"description": "the screen's name"}}, []),
    "group": ({"groupId": _ID}, ["groupId"]),
    "alias": ({"previousId": _ID}, ["previousId", "userId"]),
}
_SUCCESS = {"type": "object", "properties": {"success": {"const": True}}, "required": ["success"]}
_TRACKING_REFUSALS = {
    400: "the body is not JSON, not valid gzip, or a message breaks a rule (the problem "
    "names the field and the message's index; nothing of the request is stored)",
    401: "no write key, or an unknown, expired or revoked one",
    403: "the key lacks the track scope",
    408: SLOW_BODY,
    413: "the body is larger than Segment's limit for this call",
    415: "a Content-Encoding other than gzip",
    503: BUSY,
}


def _message(kind: str, *, in_call: bool = False) -> dict[str, Any]:
    """The JSON schema of one ``kind`` of message (in a batch, its ``type`` is required)."""
    fields, required = _CALLS[kind]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [kind]}, **_COMMON_FIELDS, **fields},
        "required": ["messageId", *required, *([] if in_call else ["type"])],
        "additionalProperties": True,
    }
    if kind != "alias":
        schema["anyOf"] = [{"required": ["userId"]}, {"required": ["anonymousId"]}]
    return schema


def _door(kind: str | None) -> dict[str, Any]:
    limit = (CALL_LIMIT if kind else BATCH_LIMIT) // 1024
    if kind:
        body = _message(kind, in_call=True)
        body["properties"]["writeKey"] = _WRITE_KEY
        summary = f"Segment's {kind} call"
    else:
        body = {
            "type": "object",
            "properties": {
                "batch": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"oneOf": [_message(name) for name in _CALLS]},
                },
                "sentAt": _SENT_AT,
                "context": _OBJECT,
                "writeKey": _WRITE_KEY,
            },
            "required": ["batch"],
            "additionalProperties": True,
        }
        summary = "A batch of Segment calls (also at /v1/import)"
    operation = {
        "tags": ["tracking"],
        "operationId": f"tracking_{kind or 'batch'}",
        "summary": summary,
        "description": f"Segment's HTTP tracking API. The write key (an API key with the "
        "track scope) as the HTTP Basic user, as a Bearer token, or as ``writeKey`` in the "
        f"body. The body is JSON, optionally gzipped (``Content-Encoding: gzip``), at most "
        f"{limit} KB inflated. Accepted calls are stored at once and applied by the worker.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            200: {"description": "accepted", "content": {"application/json": {"schema": _SUCCESS}}}
        },
        "security": [{"WriteKey": []}, {"BearerKey": []}, {}],
    }
    _add_refusals(operation, _TRACKING_REFUSALS)
    return operation


def tracking_paths() -> dict[str, dict[str, Any]]:
    """The tracking door's paths (``/v1/...``, outside the REST API's prefix)."""
    return {f"/v1/{kind or 'batch'}": {"post": _door(kind)} for kind in [*_CALLS, None]}
