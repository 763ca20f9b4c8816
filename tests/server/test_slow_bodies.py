"""Bodies that trickle in are cut after ``RETAIN_BODY_SECONDS`` (408), and while 300 of them
trickle a normal tracking call still answers at once (a real ``retain serve``)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request

import pytest

from retain.server.background import background_server
from tests.ingest.builders import basic_auth, make_track, make_write_key
from tests.server.wire import Answer, connect, read_answer, send_head
from tests.store import child_environment

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = 300
SECONDS = 4


def _track(base: str, key: str) -> tuple[float, dict]:
    request = urllib.request.Request(
        f"{base}/v1/track", data=json.dumps(make_track()).encode(),
        headers={"Authorization": basic_auth(key), "Content-Type": "application/json"},
    )  # fmt: skip
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        return time.monotonic() - started, json.load(response)


def test_300_trickling_bodies_are_cut_and_do_not_hold_the_door() -> None:
    key, answers, stop = make_write_key(), [], threading.Event()
    environment = child_environment(RETAIN_BODY_SECONDS=str(SECONDS))
    with background_server(environment=environment) as base:
        _track(base, key)  # the key is now trusted by the server process
        sockets = [connect(base, timeout=30) for _ in range(SLOW)]
        for sock in sockets:
            send_head(sock, "/v1/track", {"Authorization": basic_auth(key),
                                          "Content-Type": "application/json",
                                          "Content-Length": "1000"})  # fmt: skip

        def trickle() -> None:  # a byte a second on each socket, until told to stop
            while not stop.wait(1):
                for sock in sockets:
                    with contextlib.suppress(OSError):  # a cut one is closed
                        sock.send(b" ")

        def collect(sock) -> None:
            try:
                answers.append(read_answer(sock))
            except OSError as error:
                answers.append(error)

        trickler = threading.Thread(target=trickle)
        readers = [threading.Thread(target=collect, args=(sock,)) for sock in sockets]
        opened = time.monotonic()
        for thread in [trickler, *readers]:
            thread.start()
        time.sleep(1.5)
        waited, said = _track(base, key)  # while all 300 trickle
        for reader in readers:
            reader.join(timeout=SECONDS + 20)
        cut_after = time.monotonic() - opened
        stop.set()
        trickler.join()
        for sock in sockets:
            sock.close()
    assert said == {"success": True}
    assert waited < 2, f"a tracking call waited {waited:.1f} s behind {SLOW} slow bodies"
    statuses = [answer.status if isinstance(answer, Answer) else answer for answer in answers]
    assert statuses == [408] * SLOW
    problem = answers[0].problem()
    assert problem["detail"].startswith(f"the body did not arrive within {SECONDS} s")
    assert problem["limit_seconds"] == SECONDS
    assert cut_after < SECONDS + 10
