"""The imports page in headless Chromium, as an analyst uses it: a bad file's check lists each
problem with its line and ids, a good file is checked then imported and shows in the history;
an agent is refused. Each page axe clean, without console errors, kept as a screenshot."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from retain.accounts.services import create_user
from retain.customers.models import Order
from retain.server.background import background_server
from tests.console.browser import accessibility_violations, console_page, screenshot, sign_in
from tests.store import child_environment

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-7"
BAD = (
    "customer_id,order_id,ordered_at,amount\n"
    "c1,o1,2026-01-05,10.50\nc2,o2,soon,3\nc3,o3,2026-01-07,lots\nc4,o4,2026-01-08,2\n"
)
GOOD = "customer_id,order_id,ordered_at,amount\nc1,o1,2026-01-05,10.50\nc2,o2,2026-01-06,3\n"


def test_an_analyst_checks_a_bad_file_imports_a_good_one_and_an_agent_is_refused(tmp_path):
    create_user("ann", password=PASSWORD, role="analyst")
    create_user("bob", password=PASSWORD, role="agent")
    (tmp_path / "bad.csv").write_text(BAD)
    (tmp_path / "good.csv").write_text(GOOD)
    environment = child_environment(RETAIN_HOME=str(tmp_path / "home"))
    with background_server(environment=environment) as base, console_page(base) as (page, watch):
        sign_in(page, "ann", PASSWORD)
        page.get_by_role("link", name="Imports").click()
        expect(page.get_by_role("heading", name="Imports", level=1)).to_be_visible()
        expect(page.get_by_text("No import yet.")).to_be_visible()

        page.get_by_label("What the file holds").select_option("orders")
        page.get_by_label("File (CSV or Parquet)").set_input_files(tmp_path / "bad.csv")
        page.get_by_role("button", name="Check", exact=True).click()
        page.wait_for_load_state()
        expect(page.get_by_role("alert")).to_contain_text("2 problems: nothing can be imported.")
        rows = page.get_by_role("table", name="Problems found").get_by_role("row")
        expect(rows.filter(has_text="ordered_at")).to_contain_text('line 3: customer_id "c2"')
        expect(rows.filter(has_text="lots")).to_contain_text('line 4: customer_id "c3"')
        expect(page.get_by_role("button", name="Import", exact=True)).to_have_count(0)
        assert accessibility_violations(page, as_shown=True) == []
        screenshot(page, "imports-bad-file")

        page.get_by_label("File (CSV or Parquet)").set_input_files(tmp_path / "good.csv")
        page.get_by_role("button", name="Check", exact=True).click()
        page.wait_for_load_state()
        expect(page.get_by_role("status")).to_have_text("Orders: 2 rows read, no problem found.")
        screenshot(page, "imports-good-file-checked")
        page.get_by_role("button", name="Import", exact=True).click()
        page.wait_for_url("**/imports/?run=*")
        expect(page.get_by_role("status")).to_contain_text(
            "Orders imported: 2 rows, 2 created, 0 updated, 0 unchanged."
        )
        history = page.get_by_role("table", name="Imports, newest first")
        row = history.get_by_role("row").filter(has_text="good.csv")
        expect(row).to_contain_text("ann (console)")
        expect(row.get_by_role("link", name="imported")).to_be_visible()
        page.get_by_text("Columns under other names").click()  # the options open
        expect(page.get_by_label("Column of the order's time")).to_have_value("ordered_at")
        assert accessibility_violations(page) == []
        screenshot(page, "imports-history")

        page.context.clear_cookies()
        watch.expected_statuses.add(403)
        sign_in(page, "bob", PASSWORD)
        expect(page.get_by_role("link", name="Imports")).to_have_count(0)  # not in the menu
        response = page.goto(f"{base}/imports/")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        screenshot(page, "imports-agent-refused")
    assert Order.objects.count() == 2
