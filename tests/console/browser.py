"""Console pages in headless Chromium, as a person uses them, with the guards every page
test keeps: no console error, no request leaving 127.0.0.1, no serious or critical
accessibility violation (axe-core), and a screenshot of each page kept as an artifact."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, installed by make test
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
AXE = Path(__file__).resolve().parents[2] / "src/retain/console/static/vendor/axe-core/axe.min.js"
LOCAL_HOSTS = {"127.0.0.1"}


@dataclass
class Watch:
    """What the browser saw go wrong while the test ran."""

    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    #: Error statuses the test expects (a refused sign-in answers 400); others are errors.
    expected_statuses: set[int] = field(default_factory=set)


@contextmanager
def console_page(base: str) -> Iterator[tuple[Page, Watch]]:
    """A Chromium page on the console at ``base``; on leaving, no console error and no request
    to another host may have happened."""
    assert CHROMIUM.exists(), "Chromium is missing: make test installs Debian's chromium"
    watch = Watch()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            # A failed load is logged too; the response watch below tells expected ones apart.
            page.on(
                "console",
                lambda m: (
                    m.type == "error"
                    and not m.text.startswith("Failed to load resource")
                    and watch.console_errors.append(m.text)
                ),
            )
            page.on("pageerror", lambda error: watch.console_errors.append(str(error)))
            page.on(
                "response",
                lambda r: (
                    r.status >= 400
                    and r.status not in watch.expected_statuses
                    and watch.console_errors.append(f"{r.status} {r.request.method} {r.url}")
                ),
            )
            page.on(
                "request",
                lambda r: (
                    urlsplit(r.url).hostname not in LOCAL_HOSTS
                    and urlsplit(r.url).scheme != "data"
                    and watch.outside_requests.append(r.url)
                ),
            )
            page.set_default_timeout(20_000)
            page.base = base  # type: ignore[attr-defined]
            yield page, watch
        finally:
            browser.close()
    assert watch.console_errors == [], watch.console_errors
    assert watch.outside_requests == [], watch.outside_requests


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto(f"{page.base}/login/")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def accessibility_violations(page: Page, *, as_shown: bool = False) -> list[str]:
    """Serious and critical axe-core violations of the page at ``page.url``: ``rule: where``.

    axe is injected, which the console's own policy forbids, so it runs on the same address
    in a second context of the same browser that ignores the CSP and holds the same cookies.
    ``as_shown``: the document the page shows now, not loaded again (the answer to a form's
    POST, whose address answers only POST).
    """
    context = page.context.browser.new_context(
        bypass_csp=True, viewport={"width": 1280, "height": 900}
    )
    try:
        context.add_cookies(page.context.cookies())
        copy = context.new_page()
        if as_shown:
            copy.goto(urlunsplit(urlsplit(page.url)._replace(path="/", query="", fragment="")))
            copy.set_content(page.content())
        else:
            copy.goto(page.url)
        copy.wait_for_load_state("networkidle")
        copy.add_script_tag(path=str(AXE))
        results = copy.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
    finally:
        context.close()
    return [
        f"{violation['id']}: {node['target']}"
        for violation in results
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
