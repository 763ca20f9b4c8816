"""The unsubscribe page in headless Chromium, as a recipient uses it from an email: no console
error, no request leaving 127.0.0.1, no serious accessibility violation."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from retain.messaging.models import Suppression
from retain.messaging.tokens import unsubscribe_token
from tests.console.browser import accessibility_violations, console_page, screenshot
from tests.messaging.builders import queue
from tests.store import running_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_recipient_unsubscribes_from_a_topic_then_chooses_topics() -> None:
    with transaction.atomic():
        message = queue(to="wipa@example.com", topic="newsletter")
        queue(to="wipa@example.com", topic="winback")
    token = unsubscribe_token(message_id=message.pk, address="wipa@example.com", topic="newsletter")
    with running_server() as base, console_page(base) as (page, _):
        page.goto(f"{base}/m/unsubscribe/{token}")
        expect(page.get_by_role("heading", name="Email preferences")).to_be_visible()
        assert accessibility_violations(page) == []
        page.get_by_role("button", name="Unsubscribe from newsletter").click()
        expect(page.get_by_role("status")).to_contain_text("no longer receive emails about")
        assert accessibility_violations(page, as_shown=True) == []
        screenshot(page, "messaging-unsubscribe")
        expect(page.get_by_role("button", name="Unsubscribe from newsletter")).to_have_count(0)
        expect(page.get_by_label("newsletter")).not_to_be_checked()
        expect(page.get_by_label("winback")).to_be_checked()
        page.get_by_label("newsletter").check()
        page.get_by_label("winback").uncheck()
        page.get_by_role("button", name="Save my preferences").click()
        expect(page.get_by_role("status")).to_contain_text("preferences are saved")
        expect(page.get_by_label("winback")).not_to_be_checked()
    # The database is read once the browser (and its event loop) is gone.
    assert set(Suppression.objects.values_list("topic", flat=True)) == {"winback"}


def test_a_broken_link_says_so_plainly() -> None:
    with running_server() as base, console_page(base) as (page, watch):
        watch.expected_statuses.add(400)
        page.goto(f"{base}/m/unsubscribe/not-a-token")
        expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
        assert accessibility_violations(page) == []
