"""The console in headless Chromium: a person signs in, looks around, searches, opens a
customer, changes language; every page drawn without a console error, a request leaving
127.0.0.1 or a serious accessibility violation, and kept as a screenshot."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from retain.accounts.services import create_user
from tests.console.browser import accessibility_violations, console_page, screenshot, sign_in
from tests.customers.builders import make_customer, make_order, make_score
from tests.store import running_server

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-7"


def _shop() -> None:
    shop = [("active", "low", 5), ("at risk", "high", 10), ("new", "medium", 9),
            ("churned", "high", 2)]  # fmt: skip
    for number, (stage, risk, decile) in enumerate(shop):
        customer = make_customer(external_id=f"c-{number}", name=f"Somchai {number}")
        make_order(customer)
        make_score(customer, lifecycle_stage=stage, churn_risk=risk, value_decile=decile,
                   clv_12m=100.0 * (number + 1))  # fmt: skip


def test_an_operator_signs_in_looks_around_and_changes_language() -> None:
    create_user("ann", password=PASSWORD, role="analyst")
    _shop()
    with running_server() as base, console_page(base) as (page, _):
        sign_in(page, "ann", PASSWORD)
        expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        page.wait_for_selector("[data-chart] svg")  # the chart is drawn, under the strict CSP
        assert accessibility_violations(page) == []
        screenshot(page, "home")

        page.get_by_role("link", name="Customers").first.click()
        page.get_by_label("Search by name, email or customer id").fill("Somchai 1")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(lambda url: url.endswith("?q=Somchai+1"))  # the results are in
        assert page.locator("tbody tr").count() == 1
        assert accessibility_violations(page) == []
        screenshot(page, "customers-search")

        page.get_by_role("link", name="Somchai 1").click()
        expect(page.get_by_role("heading", name="Somchai 1", level=1)).to_be_visible()
        assert accessibility_violations(page) == []
        screenshot(page, "customer-360")

        page.get_by_text("ann").first.click()  # the user menu
        page.get_by_label("Language").select_option("th")
        page.get_by_role("button", name="Change").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "th"
        expect(page.get_by_role("heading", name="คะแนน", level=2)).to_be_visible()  # Scores
        # Thai is drawn with a font that has its glyphs: a missing glyph is drawn as the
        # same-width box, so the line of Thai would measure as many boxes as characters.
        widths = page.evaluate(
            """() => { const c = document.createElement('canvas').getContext('2d');
                const font = getComputedStyle(document.body).fontFamily;
                c.font = '16px ' + font; const box = c.measureText('\\u0E00').width;
                return [c.measureText('กขคง').width, 4 * box]; }"""
        )
        assert widths[0] != widths[1]
        assert accessibility_violations(page) == []
        screenshot(page, "customer-360-th")


def test_sign_in_page_is_accessible_and_refuses_a_wrong_password() -> None:
    create_user("bob", password=PASSWORD, role="agent")
    with running_server() as base, console_page(base) as (page, watch):
        watch.expected_statuses.add(400)
        sign_in(page, "bob", "not the password")
        assert page.get_by_role("alert").inner_text() == "The username or the password is wrong."
        assert accessibility_violations(page) == []
        screenshot(page, "sign-in-refused")
