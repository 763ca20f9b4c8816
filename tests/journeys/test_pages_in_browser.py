"""The journeys' pages in headless Chromium, as an analyst uses them: apply a journey from the
browser (a mistake first, shown at its line), find it in the list, open its page once
customers went through it (the holdout comparison drawn), pause it, preview its emails for a
customer (the HTML in its sandboxed frame, styles applied), and read that customer's journeys
on their 360; no console error, no request leaving 127.0.0.1, no serious accessibility
violation, a screenshot of each page kept under the test's temporary folder."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from retain.accounts.services import create_user
from retain.journeys.models import Journey, JourneyStatus
from retain.server.background import background_server
from tests.console.browser import accessibility_violations, console_page, sign_in
from tests.journeys.page_builders import customers_through, thanks_text
from tests.store import child_environment

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-7"
T = TypeVar("T")


def _in_store(work: Callable[[], T]) -> T:
    """``work`` run on the store from a thread of its own: Playwright's synchronous API keeps
    an event loop running in the test's thread, where Django refuses database calls."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # handed to the test's thread
            outcome.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _keep(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@override_settings(RETAIN_QUIET_HOURS=(0, 0))
def test_an_analyst_applies_a_journey_watches_it_pauses_it_and_previews_it(
    tmp_path: Path,
) -> None:
    create_user("ann", password=PASSWORD, role="analyst")
    # No worker: the test runs the journeys itself, at the moment it chooses.
    serving = background_server(environment=child_environment(), arguments=["--no-worker"])
    with serving as base, console_page(base) as (page, watch):
        sign_in(page, "ann", PASSWORD)
        page.get_by_role("link", name="Journeys").click()
        page.wait_for_url(f"{base}/journeys/")
        expect(page.get_by_role("heading", name="No journey yet")).to_be_visible()
        page.get_by_role("button", name="Apply a journey").click()
        page.wait_for_url(f"{base}/journeys/apply")
        assert accessibility_violations(page) == []

        watch.expected_statuses.add(400)  # the refused document
        document = page.get_by_label("Journey document (YAML or JSON)")
        document.fill(thanks_text().replace("key: thanks", "key: Thanks!"))
        page.get_by_role("button", name="Check and apply").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("The document was not applied: 1 problem")
        expect(alert.locator("li")).to_contain_text("Line 1 · key: String should match")
        assert "key: Thanks!" in document.input_value()  # kept, to fix
        assert accessibility_violations(page, as_shown=True) == []
        _keep(page, tmp_path, "1-apply-refused")

        document.fill(thanks_text())
        page.get_by_role("button", name="Check and apply").click()
        page.wait_for_url(f"{base}/journeys/thanks/")
        expect(page.get_by_role("status")).to_contain_text("Journey “thanks” created")
        expect(page.get_by_text("Nobody has entered this journey yet")).to_be_visible()

        _in_store(lambda: customers_through(timezone.now(), 20))  # the runner takes them in
        page.get_by_role("link", name="Journeys", exact=True).first.click()
        row = page.get_by_role("row").filter(has_text="Thank you for the first order")
        expect(row.get_by_role("cell").nth(2)).to_have_text("20")  # entered
        expect(row.locator("td.uplift")).to_contain_text(" pp to ")  # the uplift's interval
        assert accessibility_violations(page) == []
        _keep(page, tmp_path, "2-list")

        row.get_by_role("link", name="Thank you for the first order").click()
        page.wait_for_url(f"{base}/journeys/thanks/")
        page.wait_for_selector("#conversion-chart svg")  # drawn under the strict CSP
        page.wait_for_selector("#revenue-chart svg")
        assert page.locator("#conversion-chart svg path").count() >= 2  # bars and intervals
        expect(page.locator("#step-pause")).to_contain_text("20 waiting here now")
        assert accessibility_violations(page) == []
        _keep(page, tmp_path, "3-journey")

        page.get_by_role("button", name="Pause").click()
        page.wait_for_url(f"{base}/journeys/thanks/")
        expect(page.get_by_role("status")).to_have_text("The journey is paused.")
        expect(page.get_by_text("Paused: nobody enters")).to_be_visible()
        expect(page.get_by_role("button", name="Resume")).to_be_visible()
        assert _in_store(lambda: Journey.objects.get(key="thanks").status) == JourneyStatus.PAUSED
        _keep(page, tmp_path, "4-paused")

        page.get_by_role("button", name="Preview the emails").click()
        page.get_by_label("Customer id").fill("t-03")
        page.get_by_role("button", name="Preview", exact=True).click()
        page.wait_for_url(f"{base}/journeys/thanks/preview/?customer=t-03")
        expect(page.locator(".email-subject").first).to_have_text("Thanks Shopper")
        frame = page.frame_locator("iframe.email-frame").first
        greeting = frame.get_by_text("Thank you for order t-again-3, Shopper!")  # the latest
        expect(greeting).to_be_visible()
        # The email's inline style applies: the frame's own policy allows it.
        expect(greeting).to_have_css("color", "rgb(10, 48, 105)")
        follow_up = page.frame_locator("iframe.email-frame").nth(1)
        expect(follow_up.get_by_text("Tell us.")).to_be_visible()
        assert accessibility_violations(page) == []
        _keep(page, tmp_path, "5-preview")
        # A full-page capture leaves out the frames below the first screen (Chromium draws
        # a sandboxed frame in a process of its own): the second email, scrolled to.
        page.locator("iframe.email-frame").nth(1).scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "5-preview-second-email.png"))

        page.goto(f"{base}/customers/t-03/")
        timeline = page.locator("#journeys .journey-timeline")
        expect(timeline).to_contain_text("entered Thank you for the first order (version 1)")
        expect(timeline.locator(".journey-messages li")).to_have_count(1)
        assert accessibility_violations(page) == []
        _keep(page, tmp_path, "6-customer-360")
