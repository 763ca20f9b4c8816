"""The customer 360 in headless Chromium: a person opens a customer from the list, reads the
scores, sees P(alive) drawn over time, pages through the orders and loads older activity;
no console error, no request leaving 127.0.0.1, no serious accessibility violation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from retain.accounts.services import create_user
from retain.customers.models import DomainEvent, RescoringRun
from tests.console.browser import accessibility_violations, console_page, screenshot, sign_in
from tests.customers.builders import (
    make_complaint,
    make_consent,
    make_customer,
    make_event,
    make_identity,
    make_order,
    make_score,
    make_survey_answer,
)
from tests.store import running_server

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-7"
START = dt.datetime(2023, 1, 5, 10, tzinfo=dt.UTC)
AS_OF = dt.date(2024, 12, 31)


def _shopper() -> None:
    customer = make_customer(external_id="eu/วิภา-42", name="Wipa Srisuk",
                             email="wipa@example.com", traits={"tier": "gold"})  # fmt: skip
    make_identity(customer, kind="email", value="wipa.s@example.org")
    make_consent(customer, channel="email", granted=True, source="checkout")
    make_consent(customer, channel="sms", granted=False, source="unsubscribe link")
    for number in range(60):  # about every 8 days, then silence since spring 2024
        make_order(customer, external_id=f"W-{number:03d}", amount=Decimal(20 + number % 7),
                   ordered_at=START + dt.timedelta(days=8 * number), channel="web",
                   status="refunded" if number == 7 else "completed")  # fmt: skip
    make_score(customer, p_alive=0.31, churn_risk="medium", rfm_segment="need attention",
               lifecycle_stage="dormant", rfm_score="335", value_decile=8, clv_12m=184.2,
               next_order_date=None, model="BG/NBD")  # fmt: skip
    DomainEvent.objects.create(name="lifecycle.changed", customer=customer,
                               occurred_at=START + dt.timedelta(days=600),
                               data={"from": "at risk", "to": "dormant"})  # fmt: skip
    RescoringRun.objects.create(
        finished_at=dt.datetime(2025, 1, 1, 3, tzinfo=dt.UTC), succeeded=True, as_of=AS_OF,
        model="BG/NBD", model_params={"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
    )  # fmt: skip
    make_complaint(customer, category="delivery", description="The parcel came late.")
    make_survey_answer(customer, survey="nps", score=6, comment="Fine, but slow.")
    for number in range(30):
        make_event(customer, name=f"Viewed product {number}",
                   occurred_at=START + dt.timedelta(days=10 * number))  # fmt: skip


def test_an_agent_opens_a_360_pages_the_orders_and_sees_the_chart() -> None:
    create_user("agnes", password=PASSWORD, role="agent")
    _shopper()
    with running_server() as base, console_page(base) as (page, _):
        sign_in(page, "agnes", PASSWORD)
        page.goto(f"{base}/customers/?q=wipa")
        page.get_by_role("link", name="Wipa Srisuk").click()
        page.wait_for_load_state()
        expect(page.get_by_role("heading", name="Wipa Srisuk", level=1)).to_be_visible()
        page.wait_for_selector("#alive-chart svg")  # drawn under the strict CSP
        assert page.locator("#alive-chart svg path").count() >= 1
        expect(page.get_by_text("May be slipping away")).to_be_visible()
        orders = page.locator("#orders")
        expect(orders.get_by_text("Page 1 of 3 (60 orders)")).to_be_visible()
        assert orders.locator("tbody tr").first.inner_text().startswith("W-059")
        assert accessibility_violations(page) == []
        screenshot(page, "customer-360-full")

        orders.get_by_role("link", name="Older orders").click()  # htmx swaps the list
        page.wait_for_selector("#orders >> text=Page 2 of 3 (60 orders)")
        assert page.locator("#orders tbody tr").first.inner_text().startswith("W-034")
        assert "orders_page=2" in page.url
        assert page.locator("#alive-chart svg").count() == 1  # the rest of the page stayed
        page.get_by_role("link", name="Show older activity").click()
        page.wait_for_selector("text=Viewed product 9")
        assert page.locator("#events > li:not(.more)").count() == 30
        assert accessibility_violations(page) == []
        screenshot(page, "customer-360-orders-page-2")
