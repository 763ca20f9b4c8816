"""The tracking door over HTTP (Django's test client): what it accepts, what it refuses, and
that a refused request stores nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from retain.ingest.models import Message
from retain.worker.models import Job
from tests.ingest.builders import (
    basic_auth,
    gzipped,
    make_alias,
    make_batch,
    make_group,
    make_identify,
    make_page,
    make_screen,
    make_track,
    make_write_key,
)

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, document: Any, *, key: str | None, **headers: str):
    body = document if isinstance(document, bytes) else json.dumps(document)
    if key is not None:
        headers.setdefault("Authorization", basic_auth(key))
    return client.post(f"/v1/{path}", data=body, content_type="application/json",
                       headers=headers)  # fmt: skip


def refused(response, status: int) -> dict[str, Any]:
    """The problem+json body of a refusal, after checking its status and media type."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["success"] is False
    assert problem["message"] == problem["detail"]  # what Segment's clients log
    return problem


def test_each_call_type_is_accepted_as_segment_answers(client: Client) -> None:
    key = make_write_key()
    calls = {"identify": make_identify(), "track": make_track(), "page": make_page(),
             "screen": make_screen(), "group": make_group(), "alias": make_alias()}  # fmt: skip
    for path, call in calls.items():
        call.pop("type")  # the endpoint says which call it is
        response = post(client, path, call, key=key)
        assert response.status_code == 200, response.content
        assert response.json() == {"success": True}
    assert sorted(Message.objects.values_list("type", flat=True)) == sorted(calls)
    assert Job.objects.filter(name="ingest.apply_messages", status="ready").count() == 1


def test_a_batch_is_one_insert_and_a_replay_changes_nothing(client: Client) -> None:
    key = make_write_key()
    post(client, "batch", make_batch([make_track()]), key=key)  # the key is looked up, cached
    batch = make_batch([make_track() for _ in range(100)])
    with CaptureQueriesContext(connection) as queries:
        first = post(client, "batch", batch, key=key)
    assert (first.status_code, first.json()) == (200, {"success": True})
    statements = [query["sql"] for query in queries.captured_queries]
    assert sum("INTO ingest_message" in sql.replace('"', "") for sql in statements) == 1
    assert not any("accounts_apikey" in sql for sql in statements)
    replay = post(client, "batch", batch, key=key)
    assert (replay.status_code, replay.json()) == (200, {"success": True})
    assert Message.objects.count() == 101


def test_a_message_repeated_within_a_batch_is_stored_once(client: Client) -> None:
    message = make_track()
    post(client, "batch", make_batch([message, message, make_track()]), key=make_write_key())
    assert Message.objects.filter(message_id=message["messageId"]).count() == 1
    assert Message.objects.count() == 2


def test_a_gzipped_body_is_accepted(client: Client) -> None:
    batch = make_batch([make_track() for _ in range(3)])
    response = post(client, "batch", gzipped(batch), key=make_write_key(),
                    **{"Content-Encoding": "gzip"})  # fmt: skip
    assert response.status_code == 200, response.content
    assert Message.objects.count() == 3


def test_the_write_key_may_be_in_the_body(client: Client) -> None:
    batch = {**make_batch([make_track()]), "writeKey": make_write_key()}
    response = post(client, "batch", batch, key=None)
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert Message.objects.get().message_id == batch["batch"][0]["messageId"]


def test_the_clock_skew_of_the_sender_is_corrected(client: Client) -> None:
    # The sender's clock is an hour fast: it stamped the event and sent it "at 13:00".
    sent_at = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
    event = make_track(timestamp="2026-03-01T12:59:00+00:00")
    before = dt.datetime.now(dt.UTC)
    post(client, "batch", make_batch([event], sent_at=sent_at), key=make_write_key())
    stored = Message.objects.get()
    # The event happened a minute before the call left the sender, so a minute before arrival.
    assert stored.timestamp == stored.received_at - dt.timedelta(minutes=1)
    assert before <= stored.received_at <= dt.datetime.now(dt.UTC)


def test_without_sent_at_the_timestamp_is_kept_and_without_both_it_is_arrival(
    client: Client,
) -> None:
    key = make_write_key()
    stamped, unstamped = make_track(), make_track(timestamp=None)
    post(client, "batch", {"batch": [stamped, unstamped]}, key=key)
    assert Message.objects.get(message_id=stamped["messageId"]).timestamp == dt.datetime(
        2026, 3, 1, 12, tzinfo=dt.UTC
    )
    arrived = Message.objects.get(message_id=unstamped["messageId"])
    assert arrived.timestamp == arrived.received_at


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (make_track(event=None), "event"),
        (make_track(userId=None), "userId"),
        (make_track(messageId=None), "messageId"),
        (make_track(properties=["not", "an", "object"]), "properties"),
        (make_identify(traits="email=ann@example.com"), "traits"),
        (make_track(type="purchase"), "type"),
        (make_track(timestamp="yesterday"), "timestamp"),
        (make_alias(previousId=None), "previousId"),
        (make_group(groupId=None), "groupId"),
        ("a string", "(message)"),
    ],
)
def test_a_malformed_message_refuses_the_whole_batch(client: Client, bad: Any, field: str) -> None:
    batch = make_batch([make_track(), bad, make_track()])
    response = post(client, "batch", batch, key=make_write_key())
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == field and problem["bad_rows"] == 1
    assert problem["example"]["index"] == 1
    assert field in problem["detail"] and "nothing was stored" in problem["detail"]
    assert problem["message"] == problem["detail"]  # what Segment's clients log
    assert not Message.objects.exists() and not Job.objects.exists()


def test_all_bad_messages_are_counted(client: Client) -> None:
    batch = make_batch([make_track(event=None) for _ in range(3)] + [make_track()])
    problem = refused(post(client, "batch", batch, key=make_write_key()), 400)
    assert (problem["field"], problem["bad_rows"], problem["total"]) == ("event", 3, 4)
    assert [(error["index"], error["field"]) for error in problem["errors"]] == [
        (0, "event"), (1, "event"), (2, "event"),
    ]  # fmt: skip
    assert "(3 bad message(s), e.g. message 0 with messageId" in problem["detail"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        (b"{not json", "(body)", "the body is not valid JSON: "),
        (b"[1, 2]", "(body)", "the body must be a JSON object"),
        (b'{"batch": []}', "batch", "'batch' must be a non-empty list of messages"),
        (b'{"batch": {"type": "track"}}', "batch", "'batch' must be a non-empty list of messages"),
    ],
)
def test_a_malformed_body_is_refused(client: Client, body: bytes, field: str, detail: str) -> None:
    problem = refused(post(client, "batch", body, key=make_write_key()), 400)
    assert (problem["type"], problem["code"]) == ("urn:retain:error:data_error", "data_error")
    assert problem["field"] == field and problem["detail"].startswith(detail)
    assert not Message.objects.exists()


def test_a_single_call_must_match_its_endpoint(client: Client) -> None:
    problem = refused(post(client, "identify", make_track(), key=make_write_key()), 400)
    assert problem["field"] == "type"
    assert problem["detail"] == "/v1/identify takes identify calls; this one says type 'track'"
    assert not Message.objects.exists()


def test_an_oversized_call_is_refused(client: Client) -> None:
    call = make_track(properties={"blob": "x" * (32 * 1024)})
    problem = refused(post(client, "track", call, key=make_write_key()), 413)
    assert problem["code"] == "data_error" and "32 KB" in problem["detail"]
    assert not Message.objects.exists()


def test_an_oversized_message_in_a_batch_is_refused(client: Client) -> None:
    batch = make_batch([make_track(), make_track(properties={"blob": "x" * (33 * 1024)})])
    problem = refused(post(client, "batch", batch, key=make_write_key()), 400)
    assert problem["code"] == "data_error" and "32 KB" in problem["detail"]
    assert not Message.objects.exists()


def test_an_oversized_batch_is_refused_even_gzipped(client: Client) -> None:
    messages = [make_track(properties={"blob": "x" * 20_000}) for _ in range(30)]  # ~600 KB
    response = post(client, "batch", gzipped(make_batch(messages)), key=make_write_key(),
                    **{"Content-Encoding": "gzip"})  # fmt: skip
    problem = refused(response, 413)
    assert problem["code"] == "data_error" and "500 KB" in problem["detail"]
    assert not Message.objects.exists()


def test_a_broken_gzip_body_is_refused(client: Client) -> None:
    response = post(client, "batch", b"not gzip at all", key=make_write_key(),
                    **{"Content-Encoding": "gzip"})  # fmt: skip
    problem = refused(response, 400)
    assert (problem["field"], problem["detail"]) == ("(body)", "the body is not valid gzip")
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("key", "status", "detail"),
    [
        ("rk_0000_wrong", 401, "invalid or revoked API key"),
        ("", 401, "the Basic credentials are not base64"),
        (None, 401, "a write key is required (HTTP Basic user or writeKey)"),
        ("read-only", 403, "this API key lacks the 'track' scope"),
    ],
)
def test_a_wrong_key_or_scope_is_refused_and_stores_nothing(
    client: Client, key: str | None, status: int, detail: str
) -> None:
    if key == "read-only":
        key = make_write_key("read", "import")
    headers = {"Authorization": "Basic !!!"} if key == "" else {}
    response = post(client, "batch", make_batch([make_track()]), key=key or None, **headers)
    problem = refused(response, status)
    assert (problem["type"], problem["code"]) == (
        "urn:retain:error:permission_denied", "permission_denied",
    )  # fmt: skip
    assert problem["detail"] == detail
    assert not Message.objects.exists() and not Job.objects.exists()


def test_a_bearer_key_works_too(client: Client) -> None:
    key = make_write_key()
    call = make_track()
    response = post(client, "track", call, key=key, Authorization=f"Bearer {key}")
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert Message.objects.get().message_id == call["messageId"]


def test_only_post_is_allowed(client: Client) -> None:
    response = client.get("/v1/batch")
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert not Message.objects.exists()
