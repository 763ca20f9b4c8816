"""The Segment-compatible tracking API (``POST /v1/identify``, ``track``, ``page``,
``screen``, ``group``, ``alias``, ``batch``): thin views over :mod:`retain.ingest.services`.

They speak Segment's HTTP: the write key as the HTTP Basic user (or ``Bearer``, or
``writeKey`` in the body), an optionally gzipped JSON body, ``{"success": true}`` on success.
Refusals are problem+json and carry ``message`` too, which Segment's clients log. A call
that cannot get the store's write lock within :data:`DOOR_WAIT_SECONDS` (SQLite has one, held
by an apply run or an import's burst) is refused with 503 and ``Retry-After`` and nothing of
it is stored: Segment's clients send it again, as they do after any 5xx.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import OperationalError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from retain.accounts.services import authenticate_api_key
from retain.errors import DataError, PermissionDenied, RetainError
from retain.ingest.lock_wait import waiting_at_most
from retain.ingest.services import BATCH_LIMIT, CALL_LIMIT, accept_calls
from retain.problems import busy, is_busy, problem_from

if TYPE_CHECKING:
    from retain.accounts.models import ApiKey

SCOPE = "track"
#: How long a process trusts a key it checked (a revoked key stops working within this).
KEY_CACHE_SECONDS = 5.0
_KEY_CACHE_SIZE = 1000
_key_cache: dict[str, tuple[float, ApiKey]] = {}
_SUCCESS = b'{"success": true}'
#: How long a call waits for the store's write lock (held by an apply run or an import's
#: burst) before it is refused with 503 and ``Retry-After``, storing nothing.
DOOR_WAIT_SECONDS = 5.0


def _door(kind: str | None) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        try:
            received_at = timezone.now()
            limit = CALL_LIMIT if kind else BATCH_LIMIT
            header_key = _key_from_header(request)
            body = _body(request, limit=limit)
            with waiting_at_most(DOOR_WAIT_SECONDS):  # a key's last use is a write too
                if header_key is not None:  # a wrong key is refused before the body is read
                    source = authenticated(header_key)
                document = _json(body)
                if header_key is None:
                    source = authenticated(_key_from_body(document))
                with transaction.atomic():
                    accept_calls(document, kind=kind, source=source, received_at=received_at)
        except RetainError as error:
            return _refusal(error)
        except OperationalError as error:  # the atomic block stored nothing
            if not is_busy(error):
                raise
            return busy(segment=True)
        return HttpResponse(_SUCCESS, content_type="application/json")

    view.__name__ = kind or "batch"
    view.__doc__ = f"Accept {'a ' + kind + ' call' if kind else 'a batch of calls'}."
    return view


identify = _door("identify")
track = _door("track")
page = _door("page")
screen = _door("screen")
group = _door("group")
alias = _door("alias")
batch = _door(None)


def _body(request: HttpRequest, *, limit: int) -> bytes:
    """The request body, gunzipped if sent so, refused (413) beyond ``limit`` bytes.

    ``retain.server.middleware`` has already bounded what came over the wire (the announced
    length, the bytes read, the time); here a gzip body is inflated at most ``limit + 1``
    bytes, so a small body that inflates hugely costs no more memory than a large plain one.
    """
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    announced = request.headers.get("Content-Length", "")
    if encoding in ("", "identity") and announced.isdigit() and int(announced) > limit:
        raise _too_large(limit)
    raw = request.body
    if encoding == "gzip":
        body = _gunzipped(raw, limit=limit)
    elif encoding in ("", "identity"):
        body = raw
    else:
        raise DataError(f"unsupported Content-Encoding {encoding!r}; use gzip or none",
                        field="Content-Encoding", status=415)  # fmt: skip
    if len(body) > limit:
        raise _too_large(limit)
    return body


def _gunzipped(raw: bytes, *, limit: int) -> bytes:
    """``raw`` inflated, member after member, stopping as soon as it passes ``limit``; a
    member cut short (no end, no checksum) is refused rather than half stored."""
    inflated, rest = bytearray(), raw
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            inflated += inflater.decompress(rest, limit + 1 - len(inflated))
        except zlib.error:
            raise DataError("the body is not valid gzip", field="(body)") from None
        if len(inflated) > limit:
            raise _too_large(limit)
        if not inflater.eof:
            raise DataError("the gzip body is truncated (its last member has no end)",
                            field="(body)", received_bytes=len(raw))  # fmt: skip
        rest = inflater.unused_data
    return bytes(inflated)


def _too_large(limit: int) -> DataError:
    return DataError(
        f"the body is larger than {limit // 1024} KB (Segment's limit for this call)",
        field="(body)", limit_bytes=limit, status=413,
    )  # fmt: skip


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"the body is not valid JSON: {error}", field="(body)") from None
    except RecursionError:  # before the door's own depth limit can name the field
        raise DataError("the body is nested too deeply", field="(body)") from None


def _key_from_header(request: HttpRequest) -> str | None:
    return key_from_authorization(request.headers.get("Authorization", ""))


def key_from_authorization(header: str) -> str | None:
    """The write key an ``Authorization`` header carries (None without one); a malformed
    header is refused."""
    if not header:
        return None
    kind, _, credential = header.partition(" ")
    if kind.lower() == "bearer":
        return credential.strip()
    if kind.lower() == "basic":
        try:
            decoded = base64.b64decode(credential.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise PermissionDenied("the Basic credentials are not base64", status=401) from None
        return decoded.partition(":")[0]
    raise PermissionDenied("send the write key as the Basic user or as a Bearer token",
                           status=401)  # fmt: skip


def _key_from_body(document: Any) -> str:
    key = document.get("writeKey") if isinstance(document, dict) else None
    if not isinstance(key, str) or not key:
        raise PermissionDenied("a write key is required (HTTP Basic user or writeKey)",
                               status=401)  # fmt: skip
    return key


def is_trusted(plain: str) -> bool:
    """Whether ``plain`` was checked by this process within :data:`KEY_CACHE_SECONDS` (the
    middleware then lets its body in without asking the store)."""
    cached = _key_cache.get(plain)
    return cached is not None and cached[0] > time.monotonic()


def authenticated(plain: str) -> ApiKey:
    """The key behind ``plain`` with the ``track`` scope; trusted for a few seconds per
    process, so a busy door does not look the same key up on every call."""
    now = time.monotonic()
    cached = _key_cache.get(plain)
    if cached is not None and cached[0] > now:
        key = cached[1]
    else:
        try:
            key = authenticate_api_key(plain, scope=SCOPE)
        except PermissionDenied as error:
            error.details.setdefault("status", 403 if "scope" in error.details else 401)
            raise
        if len(_key_cache) >= _KEY_CACHE_SIZE:
            _key_cache.clear()
        _key_cache[plain] = (now + KEY_CACHE_SECONDS, key)
    return key


def _refusal(error: RetainError) -> HttpResponse:
    # Segment's clients read ``message`` and ``success``.
    return problem_from(error, message=error.message, success=False)
