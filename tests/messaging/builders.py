"""Builders for the messaging tests: a queued email with sensible defaults, and a run of the
sender against the test SMTP server."""

from __future__ import annotations

import itertools
from typing import Any

from retain.messaging.composing import ComposeOptions
from retain.messaging.models import Message
from retain.messaging.services import queue_email
from retain.messaging.tasks import SendReport, run_sender
from tests.customers.builders import make_customer

_numbers = itertools.count(1)

HTML = (
    "<html><head><style>p.lead { color: #224466; }</style></head><body>"
    '<p class="lead">Hello Ann,</p>'
    '<p><a href="https://shop.example/offer?a=1&amp;b=2">See the offer</a> or '
    '<a href="mailto:help@shop.example">write to us</a>.</p>'
    '<p><a href="%%unsubscribe_url%%">Unsubscribe</a></p>'
    "</body></html>"
)
TEXT = (
    "Hello Ann,\n\nSee the offer: https://shop.example/offer\n\nUnsubscribe: %%unsubscribe_url%%\n"
)


def queue(**overrides: Any) -> Message:
    """Queue one email (a marketing message of topic "newsletter" unless told otherwise)."""
    number = next(_numbers)
    fields: dict[str, Any] = {
        "key": f"test-message-{number}",
        "to": f"reader{number}@example.com",
        "subject": f"Our news, number {number}",
        "html": HTML,
        "text": TEXT,
        "topic": "newsletter",
    }
    fields.update(overrides)
    if "customer_id" not in fields:
        fields["customer_id"] = make_customer().pk
    message = queue_email(**fields)
    assert message is not None, "the key was queued before"
    return message


def send(server: Any, clock: Any, options: ComposeOptions, **kwargs: Any) -> SendReport:
    """One run of the sender against the test server, at the clock's time."""
    return run_sender(clock=clock, connect=server.connect, options=options, **kwargs)
