"""Every response carries a Content-Security-Policy, nosniff and a Referrer-Policy; over TLS
(``RETAIN_HTTPS=1``, or ``X-Forwarded-Proto`` from a trusted proxy) also HSTS and Secure
cookies. Checked through the Django test client, on a real ``retain serve``, and with the
Swagger page opened in Chromium under that policy."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import sync_playwright

from retain.server.background import background_server
from retain.server.security import CONTENT_SECURITY_POLICY
from tests.accounts.builders import make_user
from tests.store import child_environment

pytestmark = pytest.mark.django_db

CHROMIUM = Path("/usr/bin/chromium")
PATHS = ["/healthz", "/api/v1/docs", "/api/v1/customers", "/admin/login/", "/nowhere"]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_headers(path: str) -> None:
    response = Client().get(path)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def _csrf_cookie(client: Client, **headers: str):
    response = client.get("/api/v1/auth/csrf", headers=headers)
    return response, response.cookies["csrftoken"]


def test_plain_http_sends_no_hsts_and_no_secure_cookie() -> None:
    response, cookie = _csrf_cookie(Client())
    assert "Strict-Transport-Security" not in response.headers
    assert not cookie["secure"]


def test_a_forged_forwarded_proto_is_ignored(settings) -> None:
    settings.RETAIN_TRUSTED_PROXIES = "10.0.0.0/8"
    client = Client(REMOTE_ADDR="192.0.2.4")  # not a trusted proxy
    response, cookie = _csrf_cookie(client, **{"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers
    assert not cookie["secure"]


def test_a_trusted_proxy_over_https_gets_hsts_and_secure_cookies(settings) -> None:
    settings.RETAIN_TRUSTED_PROXIES = "10.0.0.0/8"
    client = Client(REMOTE_ADDR="10.0.0.5")
    response, cookie = _csrf_cookie(client, **{"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert cookie["secure"] is True

    user = make_user()
    signed_in = client.post(
        "/api/v1/auth/login", {"username": user.username, "password": "a long passphrase"},
        content_type="application/json", headers={"X-Forwarded-Proto": "https"},
    )  # fmt: skip
    assert signed_in.status_code == 200
    assert signed_in.cookies["sessionid"]["secure"] is True


def test_retain_https_makes_every_request_https(settings) -> None:
    settings.RETAIN_HTTPS = True
    response, cookie = _csrf_cookie(Client(REMOTE_ADDR="192.0.2.4"))
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert cookie["secure"] is True


def _headers(url: str, **headers: str):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return response.headers


@pytest.mark.django_db(transaction=True)
def test_a_real_server_sends_them_and_trusts_only_its_proxies() -> None:
    untrusted = child_environment(RETAIN_TRUSTED_PROXIES="")
    with background_server(environment=untrusted) as base:
        plain = _headers(f"{base}/healthz")
        forged = _headers(f"{base}/healthz", **{"X-Forwarded-Proto": "https"})
    assert plain["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert plain["X-Content-Type-Options"] == "nosniff"
    assert plain["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in plain
    assert "Strict-Transport-Security" not in forged  # uvicorn must not believe it either

    trusted = child_environment(RETAIN_TRUSTED_PROXIES="127.0.0.1")
    with background_server(environment=trusted) as base:
        proxied = _headers(f"{base}/api/v1/auth/csrf", **{"X-Forwarded-Proto": "https"})
    assert proxied["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in proxied["Set-Cookie"]


@pytest.mark.django_db(transaction=True)
def test_the_swagger_page_works_under_the_policy_in_chromium() -> None:
    assert CHROMIUM.exists(), "Chromium is missing: .ci/run installs Debian's chromium package"
    console: list[str] = []
    with background_server(environment=child_environment()) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on("console", lambda message: console.append(message.text))
            response = page.goto(f"{base}/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            operations = page.locator(".opblock-summary-path").all_inner_texts()
        finally:
            browser.close()
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "/api/v1/imports/{kind}" in [text.replace("\u200b", "") for text in operations]
    assert [text for text in console if "Content Security Policy" in text] == []
