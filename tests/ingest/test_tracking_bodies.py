"""The tracking door bounds a body before it does any work, against a real ``retain serve``:
a wrong key or an announced size is refused before a byte of the body is read, a body that
grows past the limit while it arrives (chunked, or gzip inflating) is cut there, and a cut
gzip member is refused, not stored."""

from __future__ import annotations

import json
import threading
import zlib

import pytest

from retain.ingest.models import Message
from tests.ingest.builders import basic_auth, gzipped, make_batch, make_track, make_write_key
from tests.server.wire import (
    connect,
    listening_pid,
    read_answer,
    resident_megabytes,
    send_head,
)
from tests.store import running_server

pytestmark = pytest.mark.django_db(transaction=True)
MB = 1024 * 1024


def test_a_body_announced_at_200_mb_is_refused_before_it_is_sent() -> None:
    key = make_write_key()
    with running_server() as base, connect(base, timeout=10) as sock:
        send_head(sock, "/v1/batch", {"Authorization": basic_auth(key),
                                      "Content-Type": "application/json",
                                      "Content-Length": str(200 * MB)})  # fmt: skip
        answer = read_answer(sock)  # not one byte of the body was sent
    problem = answer.problem()
    assert (answer.status, problem["code"]) == (413, "data_error")
    assert problem["detail"] == "the body is larger than 500 KB (the limit for a tracking batch)"
    assert problem["message"] == problem["detail"] and problem["success"] is False
    assert answer.headers["connection"] == "close"


def test_a_wrong_key_with_a_big_body_is_refused_before_the_body_is_read() -> None:
    with running_server() as base, connect(base, timeout=10) as sock:
        send_head(sock, "/v1/batch", {"Authorization": basic_auth("rk_0000_wrong"),
                                      "Content-Length": str(400 * 1024)})  # fmt: skip
        answer = read_answer(sock)  # the 400 KB body was never sent
    problem = answer.problem()
    assert (answer.status, problem["code"]) == (401, "permission_denied")
    assert problem["detail"] == "invalid or revoked API key"


def test_a_chunked_body_is_cut_once_it_passes_the_limit() -> None:
    key, sent = make_write_key(), []

    def send_chunks(sock) -> None:  # up to 20 MB; the server stops reading after 500 KB
        chunk = b"x" * 65536
        try:
            for _ in range(320):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent.append(len(chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass

    with running_server() as base, connect(base, timeout=10) as sock:
        send_head(sock, "/v1/batch", {"Authorization": basic_auth(key),
                                      "Transfer-Encoding": "chunked"})  # fmt: skip
        sender = threading.Thread(target=send_chunks, args=(sock,))
        sender.start()
        answer = read_answer(sock)
        sender.join()
    problem = answer.problem()
    assert (answer.status, problem["code"]) == (413, "data_error")
    assert "500 KB" in problem["detail"]
    assert sum(sent) < 20 * MB  # the connection was closed before the client finished
    assert not Message.objects.exists()


def _gzip_bomb(inflated_mb: int) -> bytes:
    """A gzip body of a batch whose one event name is ``inflated_mb`` MB of zeros."""
    deflater, zeros = zlib.compressobj(9, zlib.DEFLATED, 31), b"0" * MB
    parts = [deflater.compress(b'{"batch": [{"type": "track", "event": "')]
    parts += [deflater.compress(zeros) for _ in range(inflated_mb)]
    return b"".join([*parts, deflater.compress(b'"}]}'), deflater.flush()])


def test_a_gzip_bomb_is_refused_after_the_limit_and_memory_stays_bounded() -> None:
    key, bomb = make_write_key(), _gzip_bomb(400)  # ~400 KB that inflate to 400 MB
    assert len(bomb) < 500 * 1024
    with running_server() as base:
        pid = listening_pid(base)
        before = resident_megabytes(pid)
        answers = []
        for _ in range(4):
            with connect(base) as sock:
                send_head(sock, "/v1/batch", {"Authorization": basic_auth(key),
                                              "Content-Encoding": "gzip",
                                              "Content-Length": str(len(bomb))})  # fmt: skip
                sock.sendall(bomb)
                answers.append(read_answer(sock))
        grown = resident_megabytes(pid) - before
    assert [answer.status for answer in answers] == [413] * 4, answers[0].body
    assert answers[0].problem()["detail"] == (
        "the body is larger than 500 KB (Segment's limit for this call)"
    )
    assert grown < 50, f"the server grew by {grown:.0f} MB"
    assert not Message.objects.exists()


def test_a_truncated_gzip_body_is_refused_and_nothing_is_stored() -> None:
    key = make_write_key()
    whole = gzipped(make_batch([make_track() for _ in range(20)]))
    cut = whole[: len(whole) - 12]  # the end of the deflate stream and the checksum are gone
    with running_server() as base, connect(base) as sock:
        send_head(sock, "/v1/batch", {"Authorization": basic_auth(key),
                                      "Content-Encoding": "gzip",
                                      "Content-Length": str(len(cut))})  # fmt: skip
        sock.sendall(cut)
        answer = read_answer(sock)
    problem = answer.problem()
    assert (answer.status, problem["field"]) == (400, "(body)")
    assert problem["detail"] == "the gzip body is truncated (its last member has no end)"
    assert not Message.objects.exists()


def test_two_gzip_members_are_one_body() -> None:
    key = make_write_key()
    document = json.dumps(make_batch([make_track(), make_track()])).encode()
    body = zlib.compress(document[:50], wbits=31) + zlib.compress(document[50:], wbits=31)
    with running_server() as base, connect(base) as sock:
        send_head(sock, "/v1/batch", {"Authorization": basic_auth(key),
                                      "Content-Type": "application/json",
                                      "Content-Encoding": "gzip",
                                      "Content-Length": str(len(body))})  # fmt: skip
        sock.sendall(body)
        answer = read_answer(sock)
    assert (answer.status, json.loads(answer.body)) == (200, {"success": True})
    assert Message.objects.count() == 2
