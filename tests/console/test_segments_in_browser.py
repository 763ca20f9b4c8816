"""The segments page in headless Chromium: a person reads the stages and segments, sees the
stage moves drawn, and follows a segment to the customers list filtered to it; accessible,
no console error, nothing fetched from elsewhere, screenshots kept."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from retain.accounts.services import create_user
from retain.customers.models import RescoringRun
from retain.server.background import background_server
from tests.console.browser import accessibility_violations, console_page, screenshot, sign_in
from tests.customers.builders import make_customer, make_score
from tests.store import child_environment

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-7"
FIRST_RUN = dt.datetime(2025, 1, 1, 3, tzinfo=dt.UTC)


def _shop() -> None:
    """40 customers over four stages and segments, and six daily rescorings' moves."""
    plan = [("active", "champions", 420.0), ("returning", "loyal customers", 180.0),
            ("at risk", "at risk", 95.0), ("churned", "lost", 12.5)]  # fmt: skip
    for number in range(40):
        stage, segment, value = plan[number % 4]
        customer = make_customer(external_id=f"s-{number:02d}", name=f"Shopper {number:02d}")
        make_score(customer, lifecycle_stage=stage, rfm_segment=segment, clv_12m=value)
    moves = [("active", "at risk"), ("at risk", "churned"), ("at risk", "returning"),
             ("returning", "active"), ("new", "active"), ("active", "returning")]  # fmt: skip
    for day in range(7):
        RescoringRun.objects.create(
            finished_at=FIRST_RUN + dt.timedelta(days=day), succeeded=True, customers_scored=40,
            as_of=FIRST_RUN.date() + dt.timedelta(days=day - 1),
            stage_moves=[] if day == 0 else [
                {"from": before, "to": after, "customers": (index + day) % 5 + 1}
                for index, (before, after) in enumerate(moves)
            ],
        )  # fmt: skip


def test_a_person_reads_the_segments_and_opens_the_customers_of_one() -> None:
    create_user("ann", password=PASSWORD, role="analyst")
    _shop()
    # No worker: its rescoring would replace the scores the test wrote.
    serving = background_server(environment=child_environment(), arguments=["--no-worker"])
    with serving as base, console_page(base) as (page, _):
        sign_in(page, "ann", PASSWORD)
        page.get_by_role("link", name="Segments").click()
        page.wait_for_url(f"{base}/segments/")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Lifecycle stages and RFM segments"
        )
        page.wait_for_selector("[data-chart='chart-moves'] svg")  # drawn under the strict CSP
        assert page.locator("[data-chart='chart-moves'] svg path").count() >= 1
        moves = page.get_by_role("table", name="Customers who moved, per move and rescoring "
                                 "(named by the day its scores are for)")  # fmt: skip
        assert moves.locator("thead th").count() == 1 + 6 + 1  # move, six rescorings, all
        assert accessibility_violations(page) == []
        screenshot(page, "segments")

        segments = page.get_by_role("table", name="Customers, their share of the scored "
                                    "customers and their predicted 12-month value, per RFM "
                                    "segment")  # fmt: skip
        segments.get_by_role("link", name="at risk").click()
        page.wait_for_url(f"{base}/customers/?rfm_segment=at+risk")
        expect(page.get_by_role("status")).to_have_text("10 customers")  # counted apart
        names = page.locator("#results tbody tr td:first-child").all_inner_texts()
        assert names == [f"Shopper {number:02d}" for number in range(2, 40, 4)]
        assert page.get_by_label("RFM segment").input_value() == "at risk"
        screenshot(page, "segments-to-customers")
