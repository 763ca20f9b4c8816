"""Middleware of the retain project."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from retain.errors import PermissionDenied
from retain.ingest.services import BATCH_LIMIT, CALL_LIMIT
from retain.ingest.tracking import authenticated, is_trusted, key_from_authorization
from retain.problems import busy, is_busy, problem, status_of

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], ASGIReceive, ASGISend], Awaitable[None]]


class ReturnConnectionsMiddleware:
    """Hand the request's database connections back at its end, in the request's own thread.

    Under ASGI Django runs each request's sync code in a thread of that request, while its
    own end-of-request cleanup runs elsewhere: left alone, every request's connection stays
    open until PostgreSQL refuses more. Closing here returns it to the connection pool.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            for connection in connections.all(initialized_only=True):
                if not connection.in_atomic_block:
                    connection.close()


class BusyStoreMiddleware:
    """Answer 503 with ``Retry-After`` when a view could not get the store's write lock in
    time (:func:`retain.problems.is_busy`) instead of a 500: its atomic block was rolled back,
    and the client may send the request again. Other database errors stay errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return busy() if is_busy(exception) else None


#: Where the console's imports page posts a file (``ingest:check``): an upload's limits.
CONSOLE_UPLOAD = "/imports/check/"


@dataclass(frozen=True)
class BodyRule:
    """What one kind of request may send: at most ``limit`` bytes within ``seconds``."""

    limit: int
    seconds: float
    what: str
    tracking: bool = False
    #: The limit as the refusal states it (a tracking call's: Segment's, before gzip's margin).
    stated: int | None = None


def _over_the_wire(limit: int) -> int:
    """A tracking body's wire limit: Segment's limit plus what gzip may add to data that does
    not compress (a header, a checksum, 5 bytes per stored block); the door checks the
    inflated size itself."""
    return limit + limit // 1000 + 1024


def body_rule(path: str) -> BodyRule:
    """The rule for a request to ``path`` (the limits live in the settings)."""
    if path in ("/v1/batch", "/v1/import"):
        return BodyRule(_over_the_wire(BATCH_LIMIT), settings.RETAIN_BODY_SECONDS,
                        "a tracking batch", tracking=True, stated=BATCH_LIMIT)  # fmt: skip
    if path.startswith("/v1/"):
        return BodyRule(_over_the_wire(CALL_LIMIT), settings.RETAIN_BODY_SECONDS,
                        "a tracking call", tracking=True, stated=CALL_LIMIT)  # fmt: skip
    if path.startswith("/api/v1/imports/") or path == CONSOLE_UPLOAD:
        return BodyRule(settings.RETAIN_UPLOAD_LIMIT, settings.RETAIN_UPLOAD_SECONDS,
                        "an import upload")  # fmt: skip
    return BodyRule(settings.RETAIN_BODY_LIMIT, settings.RETAIN_BODY_SECONDS, "a request")


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB" if size >= 1024 * 1024 else f"{size / 1024:g} KB"


class _Refused(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


class _BoundedBody:
    """The app's ``receive``: the body's chunks as they come, cut (the app sees the client
    leave) once more than ``rule.limit`` bytes arrived or the time ran out."""

    def __init__(self, receive: ASGIReceive, rule: BodyRule) -> None:
        self.inner, self.rule = receive, rule
        self.deadline = asyncio.get_running_loop().time() + rule.seconds
        self.received, self.complete = 0, False
        self.refused: _Refused | None = None

    async def __call__(self) -> dict[str, Any]:
        if self.complete or self.refused is not None:
            return await self.inner() if self.refused is None else {"type": "http.disconnect"}
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self.inner()
        except TimeoutError:
            self.refused = _Refused(
                408, "data_error",
                f"the body did not arrive within {self.rule.seconds:g} s "
                f"({self.received} bytes received)", field="(body)",
                limit_seconds=self.rule.seconds,
            )  # fmt: skip
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.rule.limit:
                self.refused = _too_large(self.rule)
                return {"type": "http.disconnect"}
            self.complete = not message.get("more_body", False)
        return message


def _too_large(rule: BodyRule) -> _Refused:
    return _Refused(
        413, "data_error",
        f"the body is larger than {_megabytes(rule.stated or rule.limit)} "
        f"(the limit for {rule.what})",
        field="(body)", limit_bytes=rule.limit,
    )  # fmt: skip


class BodyLimits:
    """ASGI middleware: bound every request's body before Django reads (and spools) it.

    In order, each before any byte of the body is read: a tracking call's ``Authorization``
    key is checked (a wrong key is 401/403 at once); an announced ``Content-Length`` over the
    limit is 413. Then, while the body is read, more bytes than the limit (a chunked body
    announces none) is 413, and a body not complete within the rule's seconds is 408. Every
    refusal is problem+json and closes the connection, whatever the client still sends.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = body_rule(scope["path"])
        headers = {name.lower(): value for name, value in scope["headers"]}
        try:
            if rule.tracking:
                await _check_write_key(headers.get(b"authorization", b"").decode("latin-1"))
            announced = headers.get(b"content-length", b"")
            if announced.isdigit() and int(announced) > rule.limit:
                raise _too_large(rule)
        except _Refused as refused:
            await _send_refusal(send, refused, tracking=rule.tracking)
            return
        body = _BoundedBody(receive, rule)
        started = False

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, body, watched)
        if body.refused is not None and not started:
            await _send_refusal(send, body.refused, tracking=rule.tracking)


async def _check_write_key(header: str) -> None:
    """Refuse a tracking call whose header carries a wrong key, before its body is read; a
    call without a header may carry ``writeKey`` in its (bounded) body."""
    try:
        plain = key_from_authorization(header)
        if plain is not None and not is_trusted(plain):
            await sync_to_async(_authenticate_and_close, thread_sensitive=False)(plain)
    except PermissionDenied as error:
        raise _Refused(status_of(error), error.code, error.message) from None


def _authenticate_and_close(plain: str) -> None:
    try:
        authenticated(plain)
    finally:
        for connection in connections.all(initialized_only=True):
            connection.close()


async def _send_refusal(send: ASGISend, refused: _Refused, *, tracking: bool) -> None:
    extra = {"message": refused.detail, "success": False} if tracking else {}
    response = problem(refused.status, refused.code, refused.detail, **refused.extra, **extra)
    await send({
        "type": "http.response.start", "status": refused.status,
        "headers": [(b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(response.content)).encode()),
                    (b"connection", b"close")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": response.content})
