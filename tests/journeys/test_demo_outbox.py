"""``retain demo``'s emails: the real sender hands the journeys' messages to the demo's
loopback SMTP server (standard library only), which writes each to a numbered ``.eml`` file
(the whole demo on a small shop: ``tests/test_demo_journeys.py``)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import smtplib
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings
from django.utils import timezone

from retain.demo_smtp import OutboxSink
from retain.demo_store import with_contacts
from retain.messaging.composing import ComposeOptions
from retain.messaging.models import Message, MessageStatus
from retain.messaging.smtp import SmtpServer, open_connection
from retain.messaging.tasks import run_sender
from tests.messaging.builders import queue

pytestmark = pytest.mark.django_db


def _send_all(sink: OutboxSink) -> dict[str, int]:
    server = SmtpServer(host="127.0.0.1", port=sink.port, timeout=10)
    report = run_sender(
        connect=lambda: open_connection(server, local_hostname="shop.example"),
        options=ComposeOptions(sender="Demo Shop <shop@example.com>",
                               public_url=settings.RETAIN_PUBLIC_URL),
        clock=lambda: timezone.now() + dt.timedelta(minutes=1),
    )  # fmt: skip
    return report.counts


def test_the_real_sender_writes_each_message_to_a_numbered_eml_file(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "1.eml").write_bytes(b"kept from an earlier run")
    dotted = "Hello,\n.a line that starts with a dot\n..and one with two\n"
    messages = [queue(text=dotted, subject="Dots"), queue(subject="Ünïcode ✓")]
    with OutboxSink(outbox) as sink:
        assert _send_all(sink) == {"sent": 2}
    assert sorted(path.name for path in outbox.iterdir()) == ["1.eml", "2.eml", "3.eml"]
    assert sink.written == [outbox / "2.eml", outbox / "3.eml"]
    assert (outbox / "1.eml").read_bytes() == b"kept from an earlier run"
    first = email.message_from_bytes((outbox / "2.eml").read_bytes(), policy=email.policy.default)
    assert first["To"] == messages[0].to_address
    assert first["Subject"] == "Dots"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = first.get_body(preferencelist=("plain",)).get_content()
    assert ".a line that starts with a dot\n..and one with two" in text
    second = email.message_from_bytes((outbox / "3.eml").read_bytes(), policy=email.policy.default)
    assert second["Subject"] == "Ünïcode ✓"
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_the_sink_answers_the_commands_a_client_sends(tmp_path: Path) -> None:
    with OutboxSink(tmp_path) as sink, smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        assert client.ehlo()[0] == 250
        assert client.has_extn("8bitmime") and client.has_extn("smtputf8")
        assert client.noop()[0] == 250
        assert client.docmd("VRFY", "someone")[0] == 502
        assert client.docmd("RCPT", "TO:<a@example.com>")[0] == 503  # MAIL first
        assert client.mail("shop@example.com")[0] == 250
        assert client.rset()[0] == 250
        assert client.docmd("DATA")[0] == 503  # the reset forgot the sender
        refused = client.sendmail("shop@example.com", ["a@example.com", "b@example.com"],
                                  b"Subject: hi\r\n\r\nbody\r\n")  # fmt: skip
        assert refused == {}
        assert client.helo()[0] == 250
    assert (tmp_path / "1.eml").read_bytes() == b"Subject: hi\r\n\r\nbody\r\n"


def test_the_demo_customers_get_an_address_a_name_and_some_a_language() -> None:
    customers = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5, 16], "segment": "consumer"})
    given = with_contacts(customers)
    assert list(given["email"]) == [f"customer{n}@example.com" for n in (1, 2, 3, 4, 5, 16)]
    assert given["name"].str.contains(" ").all()
    assert [None if pd.isna(v) else v for v in given["locale"]] == ["vi", "el", "id", None,
                                                                     None, "th"]  # fmt: skip
    assert list(given["timezone"])[:3] == ["Asia/Ho_Chi_Minh", "Europe/Athens", "Asia/Jakarta"]
    assert list(given["segment"]) == ["consumer"] * 6  # the rest as it was
