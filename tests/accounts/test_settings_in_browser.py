"""The admins' settings in headless Chromium, as an admin uses them: a key made and seen
once, then revoked (and refused by the API from then on), a user added, given another role
and deactivated; an analyst refused. Each page axe clean, without console errors, kept as
a screenshot."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from retain.accounts.services import create_user
from tests.console.browser import accessibility_violations, console_page, screenshot, sign_in
from tests.customers.builders import make_customer
from tests.store import running_server

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-enough-password-7"


def _api_status(base: str, key: str) -> int:
    """The status of a read of the REST API with ``key``."""
    request = urllib.request.Request(
        f"{base}/api/v1/customers/c-1", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_an_admin_makes_and_revokes_a_key_and_manages_users() -> None:
    create_user("root", password=PASSWORD, role="admin")
    make_customer(external_id="c-1")
    with running_server() as base, console_page(base) as (page, watch):
        watch.expected_statuses.add(400)  # the user form refused once, on purpose
        sign_in(page, "root", PASSWORD)
        page.get_by_role("link", name="Settings").click()
        expect(page.get_by_role("heading", name="API keys", level=2)).to_be_visible()
        page.get_by_label("Name").fill("shop reader")
        page.get_by_label("read").check()
        page.get_by_label("Expires after (days)").fill("30")
        page.get_by_role("button", name="Create the key").click()
        page.wait_for_load_state()
        assert "it is shown this once" in page.get_by_role("alert").inner_text()
        plain = page.get_by_label("API key", exact=True).input_value()
        assert plain.startswith("rk_")
        assert accessibility_violations(page) == []
        screenshot(page, "settings-key-created")
        assert _api_status(base, plain) == 200

        page.reload()
        assert page.get_by_label("API key", exact=True).count() == 0
        assert plain not in page.content()
        row = page.get_by_role("row").filter(has_text="shop reader")
        assert "live" in row.inner_text() and "read" in row.inner_text()

        row.get_by_role("link", name="Revoke").click()
        expect(page.get_by_role("heading", name="Revoke the key “shop reader”")).to_be_visible()
        assert accessibility_violations(page) == []
        screenshot(page, "settings-key-revoke")
        page.get_by_role("button", name="Revoke the key").click()
        page.wait_for_load_state()
        assert "is revoked" in page.get_by_role("status").inner_text()
        assert "revoked" in page.get_by_role("row").filter(has_text="shop reader").inner_text()
        assert _api_status(base, plain) == 401
        assert accessibility_violations(page) == []
        screenshot(page, "settings-keys")

        page.get_by_role("link", name="Users").click()
        page.get_by_label("Username").fill("nok")
        page.get_by_label("Role", exact=True).select_option("analyst")
        page.get_by_label("Password", exact=True).fill("short")
        page.get_by_label("Password again").fill("short")
        page.get_by_role("button", name="Add the user").click()
        page.wait_for_load_state()
        assert "too short" in page.locator("#id_password_error").inner_text()
        assert accessibility_violations(page) == []
        screenshot(page, "settings-user-refused")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Add the user").click()
        page.wait_for_load_state()
        assert "nok can sign in now, as Analyst." in page.get_by_role("status").inner_text()

        page.get_by_label("Role of nok").select_option("agent")
        page.get_by_role("button", name="Change the role of nok").click()
        page.wait_for_load_state()
        assert "nok is now Agent." in page.get_by_role("status").inner_text()
        assert page.get_by_label("Role of nok").input_value() == "agent"

        page.get_by_role("button", name="Deactivate nok").click()
        page.wait_for_load_state()
        assert "nok can no longer sign in." in page.get_by_role("status").inner_text()
        assert "no (deactivated)" in page.get_by_role("row").filter(has_text="nok").inner_text()
        assert accessibility_violations(page) == []
        screenshot(page, "settings-users")


def test_an_analyst_is_refused_the_settings() -> None:
    create_user("ann", password=PASSWORD, role="analyst")
    with running_server() as base, console_page(base) as (page, watch):
        watch.expected_statuses.add(403)
        sign_in(page, "ann", PASSWORD)
        assert page.get_by_role("link", name="Settings").count() == 0
        for url in ("/settings/keys/", "/settings/users/"):
            response = page.goto(f"{base}{url}")
            assert response.status == 403
            expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        assert accessibility_violations(page) == []
        screenshot(page, "settings-refused")
