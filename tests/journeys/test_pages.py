"""The journeys' pages through Django's client: the list, a journey's page (steps, waiting
counts, the holdout comparison, versions, the document), pause/resume/archive and who may,
applying from the browser with each problem at its line, the preview of a journey's emails
for one customer, and one customer's journeys and messages as the 360 loads them."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import altair as alt
import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from retain.journeys.holdout import in_holdout
from retain.journeys.models import Enrolment, Journey, JourneyStatus
from retain.journeys.queries import enrolment_counts, waiting_at_steps
from retain.journeys.report import journey_report
from retain.journeys.templatetags.journey_figures import (
    MINUS,
    MISSING,
    money_interval,
    points,
    points_interval,
    signed_money,
)
from retain.journeys.views.applying import Problem, read_problem
from retain.messaging.models import Message
from tests.console.builders import make_user, signed_in
from tests.customers.builders import make_consent, make_customer
from tests.journeys.builders import apply_journey, journey_text
from tests.journeys.page_builders import customers_through, order, run, thanks_data, thanks_text

pytestmark = pytest.mark.django_db
#: Quiet hours off: a message queued now is due now, whatever the hour the test runs at.
NO_QUIET_HOURS = override_settings(RETAIN_QUIET_HOURS=(0, 0))


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"), NO_QUIET_HOURS:
        yield


def _text(html: str) -> str:
    """The page's text as a reader sees it: tags dropped, spaces folded."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def _page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content.decode()[:2000]
    return response.content.decode()


def _apply_thanks(**overrides: object) -> None:
    apply_journey("thanks", **{k: v for k, v in thanks_data(**overrides).items() if k != "key"})


def _row(html: str, key: str) -> str:
    """The text of the list's row of the journey ``key``."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)
    found = [row for row in rows if f"/journeys/{key}/" in row]
    assert len(found) == 1, key
    return _text(found[0])


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_each_journey_with_its_counts_and_uplift_from_the_report() -> None:
    now = timezone.now()
    _apply_thanks()
    apply_journey("quiet", name="Nobody yet")
    customers_through(now, 20)
    html = _page(signed_in(), "/journeys/")
    report = journey_report("thanks")
    counts = enrolment_counts()["thanks"]
    assert counts.entered == 20 and 0 < counts.held_out < 20 and counts.running == 20
    assert report.treatment.enrolled + report.holdout.enrolled == 20
    with translation.override("en"):
        uplift = f"{points(report.uplift.estimate)} {points_interval(report.uplift)}"
    row = _row(html, "thanks")
    converted = report.treatment.converted + report.holdout.converted
    assert converted == 7  # every third customer wrote a review
    assert row.startswith("Thank you for the first order thanks active 1 20 ")
    assert f" {counts.held_out} 20 {converted} " in row
    assert row.endswith(uplift)
    signed = f"[+{MINUS}±][\\d.]+ pp"
    assert re.fullmatch(rf"{signed} {signed} to {signed}", uplift)
    assert _row(html, "quiet").endswith(f"0 {MISSING} nobody entered yet")


def test_the_list_costs_the_same_queries_whatever_the_number_of_enrolments() -> None:
    now = timezone.now()
    _apply_thanks()
    client = signed_in()
    customers_through(now, 2, prefix="a")
    with CaptureQueriesContext(connection) as few:
        _page(client, "/journeys/")
    customers_through(now, 30, prefix="b")
    with CaptureQueriesContext(connection) as many:
        html = _page(client, "/journeys/")
    assert " 32 " in _row(html, "thanks")
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_empty_list_says_how_to_apply_a_journey_to_whoever_may() -> None:
    admin_html = _page(signed_in(make_user("admin")), "/journeys/")
    agent_html = _page(signed_in(make_user("agent")), "/journeys/")
    assert "No journey yet" in admin_html and 'href="/journeys/apply"' in admin_html
    assert "retain journeys apply --builtin" in agent_html
    assert 'href="/journeys/apply"' not in agent_html
    assert "An admin or an analyst applies them" in agent_html


@pytest.mark.parametrize("role", ["admin", "analyst", "agent"])
def test_every_role_reads_the_journeys_and_finds_them_in_the_menu(role: str) -> None:
    _apply_thanks()
    client = signed_in(make_user(role))
    html = _page(client, "/journeys/")
    assert '<a href="/journeys/" aria-current="page">Journeys</a>' in html
    assert _page(client, "/journeys/thanks/").count("Thank you for the first order") >= 2


def test_a_visitor_not_signed_in_is_sent_to_sign_in_first() -> None:
    for url in ("/journeys/", "/journeys/thanks/", "/journeys/apply", "/journeys/timeline"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=/journeys/")


# --- a journey's page -------------------------------------------------------------------------


def test_the_page_draws_the_steps_in_order_with_their_targets_and_who_waits_where() -> None:
    now = timezone.now()
    _apply_thanks()
    customers_through(now, 12)
    html = _page(signed_in(), "/journeys/thanks/")
    steps = re.findall(r'<li id="step-([\w-]+)" class="flow-step kind-(\w+)', html)
    assert steps == [("thank", "email"), ("pause", "wait"), ("check", "branch"),
                     ("follow-up", "email"), ("done", "exit"), ("rescue", "set")]  # fmt: skip
    text = _text(html)
    assert "Subject: Thanks {{ customer.first_name }}" in text
    assert "Languages: en, th" in text
    assert "Waits 3 days." in text
    assert "12 waiting here now" in text  # the treatment and the holdout rest at the wait
    assert waiting_at_steps("thanks").by_step == {"pause": 12}
    assert 'if the customer matches → <a href="#step-rescue">rescue</a>' in html
    assert 'otherwise → <a href="#step-follow-up">follow-up</a>' in html
    assert "Adds the tags at-risk-after-order." in text
    assert "When “Order Completed” is tracked for the customer. Only their first order." in text
    assert "“Review Written” within 14 days of entering" in text
    assert "50% of the customers who enter get nothing" in text


def test_the_holdout_comparison_is_charted_and_tabled_with_the_reports_figures() -> None:
    now = timezone.now()
    _apply_thanks()
    customers_through(now, 20)
    response = signed_in().get("/journeys/thanks/")
    report = journey_report("thanks")
    charts = response.context["charts"]
    alt.LayerChart.from_dict(charts["conversion"])  # valid Vega-Lite; raises when not
    alt.Chart.from_dict(charts["revenue"])
    conversion = {row["group"]: row for row in charts["conversion"]["data"]["values"]}
    assert conversion["Treatment"]["customers"] == report.treatment.enrolled
    assert conversion["Holdout"]["converted"] == report.holdout.converted
    # The chart carries rates to 6 places.
    rate = report.treatment.conversion_rate
    assert conversion["Treatment"]["rate"] == pytest.approx(rate, abs=1e-6)
    assert conversion["Treatment"]["low"] < conversion["Treatment"]["rate"]
    revenue = {row["group"]: row["revenue"] for row in charts["revenue"]["data"]["values"]}
    assert revenue["Holdout"] == pytest.approx(report.holdout.revenue_per_customer, abs=0.01)
    html = response.content.decode()
    assert 'data-chart="chart-conversion"' in html and 'data-chart="chart-revenue"' in html
    text = _text(html)
    with translation.override("en"):
        assert f"Conversion uplift {points(report.uplift.estimate)} (95 % interval " \
               f"{points_interval(report.uplift)})" in text  # fmt: skip
        assert f"{signed_money(report.revenue_uplift.estimate)} (95 % interval " \
               f"{money_interval(report.revenue_uplift)})" in text  # fmt: skip
    treated = re.search(r"Treatment (\d+) (\d+) (\d+)%", text)
    assert treated and int(treated[1]) == report.treatment.enrolled
    assert int(treated[2]) == report.treatment.converted


def test_a_journey_nobody_entered_says_so_instead_of_a_chart() -> None:
    _apply_thanks()
    response = signed_in().get("/journeys/thanks/")
    assert response.context["charts"] == {}
    assert "Nobody has entered this journey yet" in response.content.decode()
    assert "data-chart" not in response.content.decode()


def test_the_versions_are_listed_and_each_document_can_be_read_as_applied() -> None:
    apply_journey("thanks", applied_by="user ann", source="thanks.yaml")
    apply_journey("thanks", applied_by="cli", source="journeys/thanks.yaml", name="Renamed")
    client = signed_in()
    html = _page(client, "/journeys/thanks/")
    versions = re.findall(r"<tr(?: class=\"shown\")?><td class=\"number\">(\d)", html)
    assert versions == ["2", "1"]
    assert "user ann" in html and "journeys/thanks.yaml" in html
    assert "name: Renamed" in html and 'href="?version=1#document-title"' in html
    older = _page(client, "/journeys/thanks/?version=1")
    assert "You are reading version 1; the current version is 2." in _text(older)
    assert "name: Journey thanks" in older
    for wanted in ("3", "0", "x", "99999999999"):
        missing = _page(client, f"/journeys/thanks/?version={wanted}", 404)
        assert f"The journey “thanks” has no version “{wanted}”." in unescape(missing)


def test_an_unknown_or_impossible_key_is_a_page_that_says_so() -> None:
    client = signed_in()
    assert "No journey has the key “nothing”." in unescape(_page(client, "/journeys/nothing/", 404))
    for url in ("/journeys/BAD%20KEY/", "/journeys/a%00b/", "/journeys/nothing/preview/"):
        assert "No such journey" in _page(client, url, 404)


# --- pause, resume, archive -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_a_role_with_the_journeys_scope_pauses_resumes_and_archives(role: str) -> None:
    _apply_thanks()
    client = signed_in(make_user(role))
    html = _page(client, "/journeys/thanks/")
    assert 'action="/journeys/thanks/pause"' in html and 'action="/journeys/thanks/archive"' in html
    assert 'action="/journeys/thanks/resume"' not in html  # active already
    for action, status, said in [
        ("pause", JourneyStatus.PAUSED, "The journey is paused."),
        ("pause", JourneyStatus.PAUSED, "Nothing changed: the journey was paused already."),
        ("resume", JourneyStatus.ACTIVE, "Resumed: it enrols customers"),
        ("archive", JourneyStatus.ARCHIVED, "The journey is archived."),
        ("pause", JourneyStatus.ARCHIVED, "An archived journey cannot be paused"),
    ]:
        response = client.post(f"/journeys/thanks/{action}", follow=True)
        assert response.redirect_chain == [("/journeys/thanks/", 302)]
        assert Journey.objects.get(key="thanks").status == status
        assert said in response.content.decode()
    html = _page(client, "/journeys/thanks/")
    assert 'action="/journeys/thanks/resume"' in html
    assert 'action="/journeys/thanks/archive"' not in html


def test_an_agent_sees_no_button_and_is_refused_every_change() -> None:
    _apply_thanks()
    client = signed_in(make_user("agent"))
    html = _page(client, "/journeys/thanks/")
    assert "/journeys/thanks/pause" not in html and "Edit and apply" not in html
    assert "Preview the emails" in html  # reading is for everybody
    for action in ("pause", "resume", "archive"):
        response = client.post(f"/journeys/thanks/{action}")
        assert response.status_code == 403
        assert "may not open this page or do this" in response.content.decode()
    assert Journey.objects.get(key="thanks").status == JourneyStatus.ACTIVE
    assert client.get("/journeys/apply").status_code == 403
    assert client.post("/journeys/apply", {"document": journey_text("sneaky")}).status_code == 403
    assert not Journey.objects.filter(key="sneaky").exists()


def test_a_change_needs_a_post_with_the_csrf_token() -> None:
    _apply_thanks()
    user = make_user("admin")
    assert signed_in(user).get("/journeys/thanks/pause").status_code == 405
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(user)
    assert forged.post("/journeys/thanks/pause").status_code == 403
    assert Journey.objects.get(key="thanks").status == JourneyStatus.ACTIVE
    page = forged.get("/journeys/thanks/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert forged.post("/journeys/thanks/pause", {"csrfmiddlewaretoken": token}).status_code == 302
    assert Journey.objects.get(key="thanks").status == JourneyStatus.PAUSED


def test_changing_an_unknown_journey_is_a_404() -> None:
    response = signed_in().post("/journeys/nothing/pause")
    assert response.status_code == 404


# --- applying from the browser ----------------------------------------------------------------


def test_an_analyst_applies_a_document_and_lands_on_its_page() -> None:
    user = make_user("analyst", username="nadia")
    client = signed_in(user)
    form = _page(client, "/journeys/apply")
    assert '<textarea id="document" name="document"' in form
    response = client.post("/journeys/apply", {"document": thanks_text()}, follow=True)
    assert response.redirect_chain == [("/journeys/thanks/", 302)]
    assert "Journey “thanks” created: version 1 is applied." in unescape(response.content.decode())
    version = Journey.objects.get(key="thanks").current
    assert (version.number, version.applied_by, version.source) == (1, "user nadia", "console")
    assert version.source_text == thanks_text()
    again = client.post("/journeys/apply", {"document": thanks_text()}, follow=True)
    assert "Nothing changed: the document is the same journey as version 1." in (
        again.content.decode()
    )
    changed = client.post("/journeys/apply", {"document": thanks_text(name="New name")},
                          follow=True)  # fmt: skip
    assert "Version 2 applied" in changed.content.decode()
    assert Journey.objects.get(key="thanks").name == "New name"


def test_a_document_with_problems_is_refused_with_each_problem_at_its_line() -> None:
    client = signed_in()
    text = (
        "key: Bad Key\n"
        "name: Broken\n"
        "trigger: {event: Signed Up}\n"
        "topic: news\n"
        "steps:\n"
        "  - wait: {}\n"
        "  - email:\n"
        "      subject: Hi {{ customer.first_name\n"
        "      html: <p>Hello</p>\n"
    )
    response = client.post("/journeys/apply", {"document": text})
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert "The document was not applied: 2 problems" in html
    problems = re.findall(r"<li><strong>Line (\d+)</strong> · <code>([^<]+)</code>: ", html)
    assert problems == [("1", "key"), ("6", "steps[0].wait")]
    assert "a wait needs days, hours, minutes, until or weekdays" in html
    assert "{{ customer.first_name\n" in html  # the text is kept to fix
    assert not Journey.objects.exists()
    fixed = text.replace("Bad Key", "news").replace("wait: {}", "wait: {days: 1}")
    template = unescape(client.post("/journeys/apply", {"document": fixed}).content.decode())
    assert re.search(r"<strong>Line 8</strong> · <code>steps\[1\]\.email\.subject</code>: ",
                     template)  # fmt: skip


def test_an_empty_or_unreadable_document_is_refused_in_words() -> None:
    client = signed_in()
    empty = client.post("/journeys/apply", {"document": "  \n"})
    assert empty.status_code == 400
    assert "The document is empty" in empty.content.decode()
    broken = unescape(client.post("/journeys/apply", {"document": "key: a\n  b: ["}).content
                      .decode())  # fmt: skip
    assert "<strong>Line 2</strong>: not valid YAML" in broken
    nul = unescape(client.post("/journeys/apply", {"document": "key: a\x00"}).content.decode())
    assert "contains a NUL character" in nul


def test_the_form_can_start_from_a_journeys_current_document() -> None:
    _apply_thanks()
    html = unescape(_page(signed_in(), "/journeys/apply?from=thanks"))
    assert "name: Thank you for the first order" in html
    assert _page(signed_in(), "/journeys/apply?from=nothing").count("</textarea>") == 1


def test_a_split_and_a_wait_for_show_where_each_way_leads() -> None:
    apply_journey("ways", steps=[
        {"id": "ask", "wait_for": {"event": "Review Written", "timeout_days": 7,
                                   "on_timeout": "b"}},
        {"id": "pick", "split": {"paths": {"a": 3, "b": 1}}},
        {"id": "a", "wait": {"hours": 2, "until": "09:30", "weekdays": ["mon", "tue"]}},
        {"id": "b", "exit": {}},
    ])  # fmt: skip
    html = _page(signed_in(), "/journeys/ways/")
    text = _text(html)
    assert "Waits for “Review Written”, at most 7 days." in text
    assert 'when it happens → <a href="#step-pick">pick</a>' in html
    assert 'when the wait times out → <a href="#step-b">b</a>' in html
    assert '75% of customers → <a href="#step-a">a</a>' in html
    assert '25% of customers → <a href="#step-b">b</a>' in html
    assert "Waits 2 hours. Then waits until 09:30 on mon, tue, the customer's local time." in text


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("console:6: steps[0].wait: a wait needs days", Problem(6, "steps[0].wait",
                                                                 "a wait needs days")),
        ("console:2: not valid YAML: mapping values", Problem(2, "", "not valid YAML: "
                                                              "mapping values")),
        ("no line at all", Problem(None, "", "no line at all")),
    ],
)  # fmt: skip
def test_a_problem_is_read_into_its_line_path_and_reason(written: str, expected: Problem) -> None:
    assert read_problem(written) == expected


# --- the preview ------------------------------------------------------------------------------


def test_the_preview_asks_for_a_customer_then_shows_each_email_written_for_them() -> None:
    _apply_thanks()
    customer = make_customer(external_id="th/7", name="Somchai Jaidee", traits={"locale": "th"})
    order(customer, "Z-9", timezone.now())
    client = signed_in(make_user("agent"))
    form = _page(client, "/journeys/thanks/preview/")
    assert '<input id="customer" name="customer"' in form and "email-preview" not in form
    html = unescape(_page(client, "/journeys/thanks/preview/?customer=th/7"))
    assert html.count('class="email-preview"') == 2
    assert '<strong class="email-subject">ขอบคุณ Somchai</strong>' in html
    assert '<strong class="email-subject">How is it going?</strong>' in html
    frames = re.findall(r'<iframe class="email-frame" sandbox="" title="[^"]+" src="([^"]+)"',
                        html)  # fmt: skip
    assert frames == ["/journeys/thanks/preview/thank/html?customer=th%2F7",
                      "/journeys/thanks/preview/follow-up/html?customer=th%2F7"]  # fmt: skip
    assert "Z-9" in re.search(r'<pre class="email-text"[^>]*>(.*?)</pre>', html, re.DOTALL)[1]
    frame = client.get(frames[0])
    assert frame.status_code == 200 and "Z-9" in frame.content.decode()
    assert frame["Content-Security-Policy"].startswith("default-src 'none'; style-src")
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert not Message.objects.exists()  # a preview sends and stores nothing


def test_a_preview_for_a_customer_that_does_not_exist_says_so() -> None:
    _apply_thanks()
    client = signed_in()
    missing = client.get("/journeys/thanks/preview/?customer=nobody")
    assert missing.status_code == 404
    assert "No customer has the id “nobody”." in unescape(missing.content.decode())
    nul = client.get("/journeys/thanks/preview/?customer=a%00b")
    assert nul.status_code == 400 and "NUL" in nul.content.decode()
    long = client.get("/journeys/thanks/preview/?customer=" + "x" * 201)
    assert long.status_code == 400 and "at most 200 characters" in long.content.decode()
    assert client.get("/journeys/thanks/preview/none/html?customer=nobody").status_code == 404
    customer = make_customer()
    assert client.get(f"/journeys/thanks/preview/pause/html?customer={customer.external_id}"
                      ).status_code == 404  # fmt: skip


# --- one customer's journeys and messages ----------------------------------------------------


def _history(now: dt.datetime) -> tuple[str, list]:
    """One customer through two journeys: in one they get a message (queued), in the other
    they are held out (its key chosen so that the holdout's hash draws them)."""
    customer = make_customer(external_id="eu/วิภา-42", name="Wipa Srisuk")
    held_key = next(key for key in (f"held-{n}" for n in range(100))
                    if in_holdout(key, str(customer.pk), 0.5))  # fmt: skip
    _apply_thanks(holdout=0)
    apply_journey(held_key, name="Held journey", holdout=0.5, topic="orders",
                  trigger={"event": "Order Completed"}, steps=[{"email": {
                      "subject": "Held", "html": "<p>x</p>"}}])  # fmt: skip
    order(customer, "W-1", now)
    run(now)
    return customer.external_id, list(Message.objects.filter(customer=customer))


def test_the_timeline_lists_every_journey_entered_and_every_message_with_what_happened() -> None:
    now = timezone.now()
    external_id, messages = _history(now)
    assert sorted(message.status for message in messages) == ["held_out", "queued"]
    client = signed_in(make_user("agent"))
    url = "/journeys/timeline?customer=eu%2F%E0%B8%A7%E0%B8%B4%E0%B8%A0%E0%B8%B2-42"
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html
    text = _text(html)
    assert Enrolment.objects.filter(customer__external_id=external_id).count() == 2
    assert "entered Thank you for the first order (version 1)" in text
    assert "running: waits at step pause" in text
    assert re.search(r"entered Held journey \(version 1\) held-\d+ held out: gets nothing, "
                     r"to measure the uplift completed the steps on ", text)  # fmt: skip
    assert "queued “Thanks Wipa” from Thank you for the first order, step thank" in text
    assert re.search(r"held out from Held journey, step step-1 recorded, never sent: in the "
                     r"holdout group", text)  # fmt: skip
    page = _page(client, url)
    assert "<html" in page and "Journeys and messages of Wipa Srisuk" in page


def test_suppressed_capped_and_deferred_messages_say_why() -> None:
    now = timezone.now()
    _apply_thanks(holdout=0)
    refused = make_customer(external_id="refused", name="No Consent")
    make_consent(refused, granted=False)
    order(refused, "R-1", now)
    run(now)
    text = _text(_page(signed_in(), "/journeys/timeline?customer=refused"))
    assert "suppressed" in text and "no consent to email" in text
    hour = timezone.now().hour
    with override_settings(RETAIN_QUIET_HOURS=(hour, (hour + 2) % 24), RETAIN_TIME_ZONE="UTC"):
        late = make_customer(external_id="late", name="Night Owl")
        order(late, "L-1", timezone.now())
        run(timezone.now())
    text = _text(_page(signed_in(), "/journeys/timeline?customer=late"))
    assert re.search(r"queued “Thanks Night” from .* deferred: waits until", text)
    with override_settings(RETAIN_PRESSURE_MESSAGES=0):
        capped = make_customer(external_id="capped")
        order(capped, "C-1", timezone.now())
        run(timezone.now())
    text = _text(_page(signed_in(), "/journeys/timeline?customer=capped"))
    assert "capped: 0 marketing messages in 7" in text


def test_a_webhook_call_shows_as_one_in_the_timeline_and_the_steps() -> None:
    now = timezone.now()
    hook = {"id": "tell", "webhook": {"url": "https://crm.example/hook"}}
    apply_journey("hook", name="Tell the CRM", holdout=0, topic="orders",
                  trigger={"event": "Order Completed"}, steps=[hook])  # fmt: skip
    customer = make_customer(external_id="hooked")
    order(customer, "H-1", now)
    run(now)
    assert Message.objects.get(customer=customer).channel == "webhook"
    text = _text(_page(signed_in(), "/journeys/timeline?customer=hooked"))
    assert re.search(r"queued webhook call from Tell the CRM, step tell", text)
    steps = _text(_page(signed_in(), "/journeys/hook/"))
    assert "Webhook tell Posts the customer and the journey to: Address: https://crm.example/hook" \
        in steps  # fmt: skip


def test_a_customer_without_journeys_and_an_unknown_customer() -> None:
    make_customer(external_id="calm")
    client = signed_in()
    assert "has entered no journey and has been sent no message" in _page(
        client, "/journeys/timeline?customer=calm"
    )
    for query in ("customer=nobody", "customer=a%00b", ""):
        response = client.get(f"/journeys/timeline?{query}")
        assert response.status_code == 404
        assert "No such customer" in response.content.decode()


def test_the_360_loads_the_timeline_from_the_journeys_address() -> None:
    make_customer(external_id="eu/วิภา-42", name="Wipa Srisuk")
    html = _page(signed_in(), "/customers/eu/%E0%B8%A7%E0%B8%B4%E0%B8%A0%E0%B8%B2-42/")
    address = "/journeys/timeline?customer=eu%2F%E0%B8%A7%E0%B8%B4%E0%B8%A0%E0%B8%B2-42"
    assert f'hx-get="{address}" hx-trigger="load"' in html
    assert f'<a href="{address}">' in html  # without script, a link to the same
