"""The home page: the store at a glance, and the health figure that shows what needs a
person (failed tracking messages, a failed rescoring, applying falling behind)."""

from __future__ import annotations

import datetime as dt
import re

import altair as alt
import pytest
from django.utils import timezone

from retain.console.charts import bar_chart
from retain.customers.models import RescoringRun
from retain.customers.queries import store_figures
from retain.ingest.models import ImportRun, Message
from retain.ingest.services import accept_calls
from tests.console.builders import make_user, signed_in
from tests.customers.builders import make_customer, make_order, make_score

pytestmark = pytest.mark.django_db


def _figure(html: str, term: str) -> str:
    found = re.search(rf"<dt>{re.escape(term)}</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert found, term
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_health_figure_shows_what_needs_a_person() -> None:
    now = timezone.now()
    calls = [{"type": "track", "event": "Viewed", "userId": f"u{i}", "messageId": f"m{i}"}
             for i in range(3)]  # fmt: skip
    accept_calls(
        {"batch": calls}, kind=None, source=None, received_at=now - dt.timedelta(minutes=5)
    )
    Message.objects.filter(message_id="m0").update(error="DataError: properties: broken")
    RescoringRun.objects.create(
        finished_at=now, succeeded=False, reason="the purchase models need 20 repeat buyers"
    )
    html = signed_in().get("/").content.decode()
    assert _figure(html, "Tracking messages that failed").startswith("1")
    assert _figure(html, "Tracking messages to apply").startswith("2 (the oldest for 5 minutes")
    assert _figure(html, "Tracking messages waiting for a link or an order") == "0"
    assert "failed" in _figure(html, "Last rescoring")
    assert "the purchase models need 20 repeat buyers" in _figure(html, "Last rescoring")


def test_the_figures_link_to_the_customers_behind_them() -> None:
    slipping = make_customer(external_id="vip-1", name="Niran")
    make_order(slipping)
    make_score(slipping, churn_risk="high", value_decile=10, lifecycle_stage="at risk")
    html = signed_in().get("/").content.decode()
    assert 'href="/customers/?lifecycle_stage=at%20risk"' in html
    assert 'href="/customers/vip-1/"' in html
    assert "?churn_risk=high&amp;value_decile=9" in html
    assert html.count('href="/customers/?sort=value"') == 2  # orders and revenue: by value


def test_the_stage_chart_is_a_valid_vega_lite_spec() -> None:
    spec = bar_chart(["active", "at risk"], [3, 1], label_title="Stage", value_title="Customers")
    alt.Chart.from_dict(spec)  # validates against the Vega-Lite schema; raises when invalid
    assert [row["label"] for row in spec["data"]["values"]] == ["active", "at risk"]


def test_the_aggregates_are_those_the_last_rescoring_kept() -> None:
    """At a million customers summing every order per view takes seconds: the home shows
    what the last successful rescoring counted, says so, and counts live before the first."""
    customer = make_customer(external_id="c-1")
    make_order(customer, amount="40.00")
    make_score(customer, lifecycle_stage="active")
    html = signed_in().get("/").content.decode()
    assert "as the last rescoring counted them" not in html  # nothing kept yet: live
    assert ">1<" in html.split("Orders", 1)[1][:200]
    RescoringRun.objects.create(finished_at=timezone.now(), succeeded=True,
                                figures=store_figures())  # fmt: skip
    make_order(customer, amount="60.00")  # after the rescoring: counted by the next one
    html = signed_in().get("/").content.decode()
    assert "as the last rescoring counted them" in html
    assert ">1<" in html.split("Orders", 1)[1][:200]
    kept, now = RescoringRun.objects.get().figures, store_figures()
    assert (kept["orders"], kept["revenue"], now["orders"], now["revenue"]) == (
        1,
        "40.00",
        2,
        "100.00",
    )
    assert kept["stages"] == [["active", 1, 120.5]]
    assert kept["segments"] == [["champions", 1, 120.5]]


def test_the_health_figure_names_the_last_import_and_links_it_for_importers() -> None:
    assert _figure(signed_in().get("/").content.decode(), "Last import") == "never"
    run = ImportRun.objects.create(
        kind="orders", file_name="orders-june.csv", via="console", started_at=timezone.now(),
        outcome="refused", problem_count=3,
    )  # fmt: skip
    html = signed_in().get("/").content.decode()
    assert _figure(html, "Last import").endswith("“orders-june.csv”: refused")
    assert f'href="/imports/?run={run.pk}#outcome"' in html
    agent_view = signed_in(make_user("agent")).get("/").content.decode()
    assert _figure(agent_view, "Last import").endswith("refused")
    assert "/imports/?run=" not in agent_view  # an agent may not open the imports page
