"""The customers list in headless Chromium: a person searches, filters, sorts, pages and
exports, the results updating in place (htmx) with the address following; accessible, no
console error, nothing fetched from elsewhere, a screenshot kept."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from retain.accounts.services import create_user
from retain.server.background import background_server
from tests.console.browser import accessibility_violations, console_page, screenshot, sign_in
from tests.customers.builders import make_consent, make_customer, make_score
from tests.store import child_environment

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-7"


def _shop() -> None:
    """55 customers named Somchai or Linh, stages and values spread; one hostile name."""
    stages = ("active", "at risk", "churned")
    for number in range(55):
        name = f"{'Somchai' if number % 2 else 'Linh'} {number:02d}"
        customer = make_customer(external_id=f"c-{number:02d}", name=name,
                                 acquisition_channel=("ads", "search")[number % 2])  # fmt: skip
        make_score(customer, lifecycle_stage=stages[number % 3], clv_12m=10.0 * number,
                   p_alive=1 - number / 100, churn_risk=("low", "high")[number % 2])  # fmt: skip
        if number % 5 == 0:
            make_consent(customer, granted=True)
    hostile = make_customer(external_id="c-99", name='=HYPERLINK("https://evil.test","x")')
    make_score(hostile, lifecycle_stage="at risk", clv_12m=1.0)


def _names(page: Page) -> list[str]:
    return page.locator("#results tbody tr td:first-child").all_inner_texts()


def _wait_for(page: Page, address: str) -> None:
    """Until the address bar shows ``address`` (htmx pushes it once the results are in)."""
    page.wait_for_url(lambda url: url.endswith(address))


def test_a_person_searches_filters_sorts_pages_and_exports() -> None:
    create_user("ann", password=PASSWORD, role="analyst")
    _shop()
    # No worker: its rescoring would replace the scores the test wrote (customers who never
    # ordered get none).
    serving = background_server(environment=child_environment(), arguments=["--no-worker"])
    with serving as base, console_page(base) as (page, _):
        sign_in(page, "ann", PASSWORD)
        page.goto(f"{base}/customers/")
        expect(page.get_by_role("status")).to_have_text("56 customers")  # counted apart
        assert len(_names(page)) == 50

        page.get_by_role("link", name="Next").click()  # paging, in place
        _wait_for(page, "/customers/?page=2")
        assert len(_names(page)) == 6 and page.get_by_text("Page 2").is_visible()

        page.get_by_label("Search by name, email or customer id").fill("somchai")
        _wait_for(page, "/customers/?q=somchai")  # typed: the results follow, no button
        expect(page.get_by_role("status")).to_have_text("27 customers")  # counted apart

        page.get_by_label("Lifecycle stage").select_option("at risk")
        _wait_for(page, "/customers/?q=somchai&lifecycle_stage=at+risk")
        names = _names(page)
        assert names and all(name.startswith("Somchai") for name in names)

        page.get_by_label("Sort by").select_option("value")
        _wait_for(page, "/customers/?q=somchai&lifecycle_stage=at+risk&sort=value")
        assert _names(page) == [f"Somchai {n:02d}" for n in (49, 43, 37, 31, 25, 19, 13, 7, 1)]
        assert accessibility_violations(page) == []
        screenshot(page, "customers-list-filtered")

        export = page.get_by_role("link", name="Export these customers (CSV)")
        href = export.get_attribute("href")
        assert href == "/customers/export.csv?q=somchai&lifecycle_stage=at+risk"
        rows = list(csv.reader(io.StringIO(page.request.get(base + href).text())))
        assert [row[0] for row in rows[1:]] == [f"c-{n:02d}" for n in range(1, 55, 6)]

        page.get_by_role("button", name="Clear").click()
        page.get_by_label("Search by name, email or customer id").fill("evil")
        _wait_for(page, "/customers/?q=evil")
        assert _names(page) == ['=HYPERLINK("https://evil.test","x")']  # shown as text
        rows = list(csv.reader(io.StringIO(page.request.get(base + href.replace(
            "q=somchai&lifecycle_stage=at+risk", "q=evil")).text())))  # fmt: skip
        assert rows[1][1] == '\'=HYPERLINK("https://evil.test","x")'

        page.go_back()  # history holds each state of the list
        _wait_for(page, "/customers/")
        page.goto(f"{base}/customers/?email_consent=granted")  # the address alone, no JS
        expect(page.get_by_role("status")).to_have_text("11 customers")  # counted apart
        assert page.get_by_label("Email consent").input_value() == "granted"
        assert accessibility_violations(page) == []
        screenshot(page, "customers-list")
