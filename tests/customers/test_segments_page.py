"""The segments page (``/segments/``): each stage's and segment's count, share and value as
the store holds them, links that filter the customers list to exactly those customers, the
stage moves of the last rescorings (chart and table), every role, and an empty store."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import altair as alt
import pytest
from django.test import Client

from retain.console.templatetags.console import MISSING
from retain.customers.models import DomainEvent, RescoringRun
from retain.customers.rescoring import rescore_customers
from retain.customers.views.segments import CHART_PAIRS
from tests.console.builders import make_user, signed_in
from tests.customers.builders import load_business, make_customer, make_score

pytestmark = pytest.mark.django_db
MOMENT = dt.datetime(2025, 1, 1, 3, tzinfo=dt.UTC)


class _Tables(HTMLParser):
    """Every table of a page: its caption and rows, each cell's text and link."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []
            self.tables[-1]["rows"][-1].append({"text": "", "href": None})
        elif tag == "a" and self._cell is not None:
            self.tables[-1]["rows"][-1][-1]["href"] = dict(attrs)["href"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1][-1]["text"] = " ".join("".join(self._cell).split())
            self._cell = None
        elif tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None

    def handle_data(self, data: str) -> None:
        for collecting in (self._cell, self._caption):
            if collecting is not None:
                collecting.append(data)


def _table(html: str, caption_start: str) -> list[list[dict]]:
    parser = _Tables()
    parser.feed(html)
    found = [t["rows"] for t in parser.tables if t["caption"].startswith(caption_start)]
    assert len(found) == 1, [t["caption"] for t in parser.tables]
    return found[0]


STAGES_TABLE = (
    "Customers, their share of the scored customers and their predicted 12-month value, "
    "per lifecycle stage"
)
SEGMENTS_TABLE = (
    "Customers, their share of the scored customers and their predicted 12-month value, "
    "per RFM segment"
)


def _figures(rows: list[list[dict]]) -> dict[str, list[str]]:
    """A stage or segment table's body: name -> customers, share, value, per customer."""
    return {row[0]["text"]: [cell["text"] for cell in row[2:]] for row in rows[1:]}


def _shop() -> None:
    """Five scored customers of known stages, segments and values, and one never scored."""
    known = [
        ("a-1", "active", "champions", 100.0),
        ("a-2", "active", "loyal customers", 300.0),
        ("r-1", "at risk", "at risk", 50.0),
        ("c-1", "churned", "lost", 10.0),
        ("c-2", "churned", "lost", 30.0),
    ]
    for external_id, stage, segment, value in known:
        customer = make_customer(external_id=external_id)
        make_score(customer, lifecycle_stage=stage, rfm_segment=segment, clv_12m=value)
    make_customer(external_id="n-1")


def test_each_stage_and_segment_shows_its_count_share_and_value() -> None:
    _shop()
    html = signed_in().get("/segments/").content.decode()
    stages = _figures(_table(html, STAGES_TABLE))
    assert stages == {
        "active": ["2", "40%", "$400.00", "$200.00"],
        "at risk": ["1", "20%", "$50.00", "$50.00"],
        "churned": ["2", "40%", "$40.00", "$20.00"],
    }
    assert list(stages) == ["active", "at risk", "churned"]  # the lifecycle's order
    segments = _figures(_table(html, SEGMENTS_TABLE))
    assert segments == {
        "champions": ["1", "20%", "$100.00", "$100.00"],
        "loyal customers": ["1", "20%", "$300.00", "$300.00"],
        "at risk": ["1", "20%", "$50.00", "$50.00"],
        "lost": ["2", "40%", "$40.00", "$20.00"],
    }
    assert "5 customers scored, expected to spend $490.00 over the next 12 months." in html


def test_each_name_links_to_the_list_of_exactly_its_customers() -> None:
    _shop()
    client = signed_in()
    html = client.get("/segments/").content.decode()
    expected = {
        "lifecycle_stage=active": {"a-1", "a-2"},
        "lifecycle_stage=at+risk": {"r-1"},
        "lifecycle_stage=churned": {"c-1", "c-2"},
        "rfm_segment=champions": {"a-1"},
        "rfm_segment=loyal+customers": {"a-2"},
        "rfm_segment=at+risk": {"r-1"},
        "rfm_segment=lost": {"c-1", "c-2"},
    }
    links = [
        row[0]["href"]
        for caption in (STAGES_TABLE, SEGMENTS_TABLE)
        for row in _table(html, caption)[1:]
    ]
    assert links == [f"/customers/?{query}" for query in expected]
    for link, customers in zip(links, expected.values(), strict=True):
        listed = client.get(link).context["rows"]
        assert {customer.external_id for customer, _ in listed} == customers, link


def test_a_segment_name_with_an_apostrophe_links_to_its_customers() -> None:
    customer = make_customer(external_id="k-1")
    make_score(customer, rfm_segment="can't lose them")
    make_score(make_customer(external_id="o-1"), rfm_segment="lost")
    client = signed_in()
    rows = _table(client.get("/segments/").content.decode(), SEGMENTS_TABLE)
    link = rows[1][0]["href"]
    assert rows[1][0]["text"] == "can't lose them"
    assert [c.external_id for c, _ in client.get(link).context["rows"]] == ["k-1"]


@pytest.mark.parametrize("role", ["admin", "analyst", "agent"])
def test_every_role_may_view_the_page_and_finds_it_in_the_menu(role: str) -> None:
    _shop()
    response = signed_in(make_user(role)).get("/segments/")
    assert response.status_code == 200
    assert '<a href="/segments/" aria-current="page">Segments</a>' in response.content.decode()


def test_a_visitor_not_signed_in_is_sent_to_sign_in_first() -> None:
    response = Client().get("/segments/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/segments/"


def test_an_empty_store_says_it_is_not_scored_and_how_to_score_it() -> None:
    make_customer()
    response = signed_in().get("/segments/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "No customer is scored yet" in html
    assert "retain rescore" in html and "retain import orders" in html
    assert "<table" not in html and "data-chart" not in html


def test_an_empty_store_whose_rescoring_failed_says_why() -> None:
    RescoringRun.objects.create(
        finished_at=MOMENT, succeeded=False, reason="the orders span 3 days; 30 are needed"
    )
    html = signed_in().get("/segments/").content.decode()
    assert "The last rescoring failed" in html
    assert "the orders span 3 days; 30 are needed" in html


def _run(day: int, moves: list[dict] | None) -> RescoringRun:
    return RescoringRun.objects.create(
        finished_at=MOMENT + dt.timedelta(days=day), succeeded=True, customers_scored=5,
        as_of=dt.date(2025, 1, 1) + dt.timedelta(days=day), stage_moves=moves,
    )  # fmt: skip


def test_the_moves_of_each_rescoring_are_charted_and_tabled() -> None:
    _shop()
    _run(0, [])  # the first rescoring: where everyone starts, no column of its own
    _run(1, None)  # recorded before moves were kept: shown as not known
    _run(2, [{"from": "active", "to": "at risk", "customers": 3}])
    RescoringRun.objects.create(finished_at=MOMENT, succeeded=False, reason="failed")
    _run(3, [{"from": "active", "to": "at risk", "customers": 1},
             {"from": "at risk", "to": "returning", "customers": 4}])  # fmt: skip
    response = signed_in().get("/segments/")
    rows = _table(response.content.decode(), "Customers who moved, per move and rescoring")
    table = [[cell["text"] for cell in row] for row in rows]
    assert table == [
        ["Move", "Jan. 2, 2025", "Jan. 3, 2025", "Jan. 4, 2025", "All"],
        ["active → at risk", MISSING, "3", "1", "4"],  # as many as the next: by name
        ["at risk → returning", MISSING, "0", "4", "4"],
        ["All moves", MISSING, "3", "5", "8"],
    ]
    spec = response.context["moves_chart"]
    alt.Chart.from_dict(spec)  # valid Vega-Lite; raises when not
    assert spec["data"]["values"] == [
        {"bar": "Jan. 3, 2025", "part": "active → at risk", "value": 3, "rank": 0},
        {"bar": "Jan. 4, 2025", "part": "active → at risk", "value": 1, "rank": 0},
        {"bar": "Jan. 4, 2025", "part": "at risk → returning", "value": 4, "rank": 1},
    ]


def test_before_a_second_rescoring_the_page_says_when_moves_show() -> None:
    _shop()
    _run(0, [])
    html = signed_in().get("/segments/").content.decode()
    assert "Moves show from the second rescoring on" in html
    assert "data-chart" not in html


def test_the_moves_shown_are_those_the_rescorings_recorded_as_events() -> None:
    load_business(200, seed=6)
    end = dt.date(2024, 12, 31)
    rescore_customers(as_of=end, now=MOMENT)
    rescore_customers(as_of=end + dt.timedelta(days=40), now=MOMENT + dt.timedelta(days=40))
    rescore_customers(as_of=end + dt.timedelta(days=75), now=MOMENT + dt.timedelta(days=75))
    response = signed_in().get("/segments/")
    moves = response.context["moves"]
    assert len(moves.periods) == 2
    for index, period in enumerate(moves.periods):
        events = DomainEvent.objects.filter(name="lifecycle.changed",
                                            occurred_at=period.finished_at)  # fmt: skip
        counted: dict[tuple[str, str], int] = {}
        for event in events:
            pair = (event.data["from"], event.data["to"])
            counted[pair] = counted.get(pair, 0) + 1
        assert counted and period.moves == counted
        assert {(r.before, r.after): r.customers[index] for r in moves.rows if
                r.customers[index]} == counted  # fmt: skip


def test_the_chart_draws_the_most_moved_pairs_and_sums_the_rest() -> None:
    _shop()
    _run(0, [])
    stages = ["new", "active", "returning", "at risk", "dormant"]
    pairs = [(a, b) for a in stages for b in stages if a != b][: CHART_PAIRS + 2]
    _run(1, [{"from": a, "to": b, "customers": 100 - i} for i, (a, b) in enumerate(pairs)])
    spec = signed_in().get("/segments/").context["moves_chart"]
    parts = [row["part"] for row in spec["data"]["values"]]
    assert parts == [f"{a} → {b}" for a, b in pairs[:CHART_PAIRS]] + ["other moves"]
    assert spec["data"]["values"][-1]["value"] == (100 - CHART_PAIRS) + (99 - CHART_PAIRS)


def test_two_rescorings_of_one_day_are_told_apart_by_the_time_they_ran() -> None:
    _shop()
    _run(0, [])
    _run(1, [{"from": "active", "to": "at risk", "customers": 2}])
    RescoringRun.objects.create(
        finished_at=MOMENT + dt.timedelta(days=1, hours=5), succeeded=True,
        as_of=dt.date(2025, 1, 2), stage_moves=[],
    )  # fmt: skip
    rows = _table(signed_in().get("/segments/").content.decode(), "Customers who moved")
    assert [cell["text"] for cell in rows[0]] == [
        "Move", "Jan. 2, 2025, 3 a.m.", "Jan. 2, 2025, 8 a.m.", "All",
    ]  # fmt: skip
