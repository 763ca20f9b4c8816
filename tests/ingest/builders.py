"""Typed builders for Segment tracking calls (the shapes segment-analytics-python sends) and
a ``track``-scoped write key."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import uuid
from typing import Any

from tests.accounts.builders import make_api_key

Message = dict[str, Any]


def make_write_key(*scopes: str) -> str:
    """A live key's plain text, with the ``track`` scope unless told otherwise."""
    _, plain = make_api_key(*(scopes or ("track",)), name="tracking")
    return plain


def basic_auth(write_key: str) -> str:
    """The ``Authorization`` header Segment's clients send: the key as the Basic user."""
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def _common(kind: str, overrides: dict[str, Any]) -> Message:
    message: Message = {
        "type": kind,
        "messageId": str(uuid.uuid4()),
        "timestamp": "2026-03-01T12:00:00.000+00:00",
        "userId": "user-1",
        "context": {"library": {"name": "analytics-python", "version": "2.3.4"}},
        "integrations": {},
    }
    message.update(overrides)
    return {key: value for key, value in message.items() if value is not None}


def make_track(**overrides: Any) -> Message:
    return _common("track", {"event": "Product Viewed", "properties": {"sku": "A1"}, **overrides})


def make_identify(**overrides: Any) -> Message:
    return _common("identify", {"traits": {"email": "ann@example.com"}, **overrides})


def make_page(**overrides: Any) -> Message:
    return _common("page", {"name": "Home", "properties": {"path": "/"}, **overrides})


def make_screen(**overrides: Any) -> Message:
    return _common("screen", {"name": "Basket", "properties": {}, **overrides})


def make_group(**overrides: Any) -> Message:
    return _common("group", {"groupId": "acme", "traits": {"plan": "pro"}, **overrides})


def make_alias(**overrides: Any) -> Message:
    return _common("alias", {"previousId": "anon-1", **overrides})


def make_order_completed(
    *, order_id: str = "o-1", total: float = 42.5, currency: str = "eur", **overrides: Any
) -> Message:
    """An ``Order Completed`` track call; ``properties=`` replaces the whole properties."""
    properties = {"order_id": order_id, "total": total, "currency": currency}
    overrides.setdefault("properties", properties)
    return make_track(event="Order Completed", **overrides)


def make_batch(messages: list[Message], *, sent_at: dt.datetime | None = None) -> Message:
    sent = (sent_at or dt.datetime.now(dt.UTC)).isoformat()
    return {"batch": messages, "sentAt": sent, "context": {}}


def gzipped(document: Any) -> bytes:
    return gzip.compress(json.dumps(document).encode())
