"""The set-based path for plain events (their payloads copied to events inside the database)
stores exactly what the one-by-one path stores, and applying checks again only messages
stored under older checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from retain.customers.models import Event
from retain.ingest import applying
from retain.ingest.applying import apply_pending_messages
from retain.ingest.message_checks import CHECKS_VERSION
from retain.ingest.models import Message
from retain.ingest.services import accept_calls
from tests.ingest.builders import make_group, make_identify, make_page, make_screen, make_track
from tests.ingest.test_poison_backlog import store_directly

pytestmark = pytest.mark.django_db
RECEIVED = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def accept(messages: list[dict[str, Any]]) -> None:
    accept_calls({"batch": messages}, kind=None, source=None, received_at=RECEIVED)


def plain_calls(prefix: str) -> list[dict[str, Any]]:
    """Plain events of every kind and shape, for users named with ``prefix``; the tag
    (the messageId's tail) pairs them across prefixes."""
    user = f"{prefix}-user"
    shapes = [
        make_track(properties={"sku": "A1", "price": 12.5, "tags": ["a", "ü"], "n": {"x": None}}),
        make_track(event="Signed In", properties={}),
        make_track(event="Product Added"),
        make_track(event="Λ-shop ✓", properties=None, anonymousId=f"{prefix}-anon"),
        make_page(category="Docs", name="Pricing", properties={"path": "/pricing"}),
        make_page(name=None, properties={"path": "/"}),
        make_screen(name="Basket"),
        make_group(groupId="acme", traits={"plan": "pro"}),
        make_group(groupId="beta", traits={"plan": "free"}, properties={"seats": 3}),
        make_track(timestamp="2026-02-28T23:59:59.123456-07:00"),
    ]
    for number, message in enumerate(shapes):
        message.update(userId=user, messageId=f"{prefix}-{number}")
        message = {key: value for key, value in message.items() if value is not None}
        shapes[number] = message
    return shapes


def stored_events(prefix: str) -> dict[str, tuple[Any, ...]]:
    return {
        message_id.split("-", 1)[1]: (customer.replace(prefix, "*"), anonymous.replace(prefix, "*"),
                                      kind, name, properties, occurred_at)
        for message_id, customer, anonymous, kind, name, properties, occurred_at in
        Event.objects.filter(message_id__startswith=f"{prefix}-").values_list(
            "message_id", "customer__external_id", "anonymous_id", "kind", "name", "properties",
            "occurred_at",
        )
    }  # fmt: skip


def test_the_set_based_path_stores_what_the_one_by_one_path_stores(monkeypatch) -> None:
    # Each user's anonymousId is theirs already (an earlier run linked it).
    accept([make_identify(userId=f"{p}-user", anonymousId=f"{p}-anon", messageId=f"{p}-link")
            for p in ("fast", "slow")])  # fmt: skip
    apply_pending_messages()
    accept(plain_calls("fast"))  # checked by today's door: the set-based path
    for message in plain_calls("slow"):  # as older code kept them: checked again, one by one
        store_directly(message, timestamp=_stored_time(message))
    one_by_one: list[str] = []
    original = applying._apply_each

    def watching(pending: list[Message], *args: Any, **kwargs: Any) -> None:
        one_by_one.extend(message.message_id for message in pending)
        original(pending, *args, **kwargs)

    monkeypatch.setattr(applying, "_apply_each", watching)
    result = apply_pending_messages()
    assert (result.applied, result.failed) == (20, 0)
    assert sorted(one_by_one) == sorted(m["messageId"] for m in plain_calls("slow"))
    fast, slow = stored_events("fast"), stored_events("slow")
    assert len(fast) == 10
    assert fast == slow
    assert fast["3"][1:4] == ("*-anon", "track", "Λ-shop ✓")
    assert fast["4"][3:5] == ("Docs Pricing", {"path": "/pricing"})
    assert fast["7"][3:5] == ("acme", {"plan": "pro"})  # a group's traits when no properties
    assert fast["8"][4] == {"seats": 3}
    assert fast["9"][5] == dt.datetime(2026, 3, 1, 6, 59, 59, 123456, tzinfo=dt.UTC)


def test_only_messages_stored_under_older_checks_are_checked_again(monkeypatch) -> None:
    accept([make_track(userId=f"u-{n}", messageId=f"new-{n}") for n in range(5)])
    store_directly(make_track(userId="old", messageId="old"))
    store_directly(make_track(userId="u" * 300, messageId="too-long"))  # checks of its day
    assert set(Message.objects.values_list("message_id", "checks")) >= {
        ("new-0", CHECKS_VERSION),
        ("old", 0),
        ("too-long", 0),
    }
    checked: list[str] = []
    original = applying._stored_problems

    def counting(message: Message) -> list[tuple[str, str]]:
        checked.append(message.message_id)
        return original(message)

    monkeypatch.setattr(applying, "_stored_problems", counting)
    result = apply_pending_messages()
    assert (result.applied, result.failed) == (6, 1)
    assert sorted(checked) == ["old", "too-long"]
    assert Message.objects.get(message_id="too-long").error.startswith("DataError: userId")


def _stored_time(message: dict[str, Any]) -> str:
    """The message's time as the door stores it (UTC), as the engine takes it."""
    moment = dt.datetime.fromisoformat(message["timestamp"]).astimezone(dt.UTC)
    return connection.ops.adapt_datetimefield_value(moment)
