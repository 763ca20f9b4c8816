"""The customers list page (``/customers/``): search, filters, sorting, paging, the htmx
partial, the CSV export, and bad addresses answered with a 400 page that says what is wrong."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import HttpResponse
from django.test import Client

from retain.customers.queries import filter_options, search_customers
from retain.customers.views.search import COUNT_LIMIT, PAGE_SIZE
from tests.console.builders import make_user, signed_in
from tests.customers.builders import make_consent, make_customer, make_score

pytestmark = pytest.mark.django_db


def _shop() -> dict[str, object]:
    """Four customers with distinct stages, values and consent; one never scored."""
    ada = make_customer(external_id="A-1", name="Ada Lovelace", email="ada@math.org",
                        acquisition_channel="ads", segment="vip")  # fmt: skip
    make_score(ada, lifecycle_stage="active", churn_risk="low", value_decile=10, clv_12m=900.0,
               p_alive=0.95, rfm_segment="champions")  # fmt: skip
    make_consent(ada, granted=True)
    bob = make_customer(external_id="B-2", name="Bob Babbage", email="bob@engine.org",
                        acquisition_channel="search")  # fmt: skip
    make_score(bob, lifecycle_stage="at risk", churn_risk="high", value_decile=9, clv_12m=500.0,
               p_alive=0.2, rfm_segment="at risk")  # fmt: skip
    make_consent(bob, granted=False)
    cy = make_customer(external_id="C-3", name="Cy Hopper", email="cy@navy.mil",
                       acquisition_channel="ads")  # fmt: skip
    make_score(cy, lifecycle_stage="churned", churn_risk="high", value_decile=2, clv_12m=10.0,
               p_alive=0.05, rfm_segment="lost")  # fmt: skip
    dee = make_customer(external_id="D-4", name="Dee", email="dee@x.org", acquisition_channel="")
    return {"ada": ada, "bob": bob, "cy": cy, "dee": dee}


def _ids(response: HttpResponse) -> list[str]:
    return [row[0].external_id for row in response.context["rows"]]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("?q=LOVE", ["A-1"]),  # name, any case
        ("?q=navy", ["C-3"]),  # email
        ("?q=b-2", ["B-2"]),  # id
        ("?q=org", ["A-1", "B-2", "D-4"]),
        ("?churn_risk=high", ["B-2", "C-3"]),
        ("?lifecycle_stage=at+risk", ["B-2"]),
        ("?rfm_segment=champions", ["A-1"]),
        ("?value_decile=9", ["A-1", "B-2"]),
        ("?acquisition_channel=ads&churn_risk=high", ["C-3"]),
        ("?segment=vip", ["A-1"]),
        ("?email_consent=granted", ["A-1"]),
        ("?email_consent=refused", ["B-2"]),
        ("?email_consent=unknown", ["C-3", "D-4"]),
        ("?sort=value", ["A-1", "B-2", "C-3", "D-4"]),  # never scored last
        ("?sort=risk", ["C-3", "B-2", "A-1", "D-4"]),  # lowest P(alive) first
        ("?sort=risk&churn_risk=high&q=o", ["C-3", "B-2"]),
        ("?sort=value&churn_risk=high", ["B-2", "C-3"]),  # scored only: the plain order
        ("?sort=value&value_decile=1", ["A-1", "B-2", "C-3"]),
        ("?q=&lifecycle_stage=&sort=", ["A-1", "B-2", "C-3", "D-4"]),  # empty fields: no filter
    ],
)
def test_search_filters_and_sorting(address: str, expected: list[str]) -> None:
    _shop()
    response = signed_in().get(f"/customers/{address}")
    assert response.status_code == 200
    assert _ids(response) == expected


def test_the_page_shows_the_customers_and_offers_the_values_found_in_the_store() -> None:
    _shop()
    html = signed_in().get("/customers/?churn_risk=high").content.decode()
    assert "Bob Babbage" in html and "Cy Hopper" in html and "Ada Lovelace" not in html
    assert 'hx-get="/customers/count?churn_risk=high" hx-trigger="load"' in html
    assert '<option value="high" selected>high</option>' in html
    assert '<option value="champions">champions</option>' in html
    assert '<option value="vip">vip</option>' in html
    assert "/customers/export.csv?churn_risk=high" in html


def test_filter_options_are_the_distinct_non_blank_values_sorted() -> None:
    _shop()
    assert filter_options() == {
        "lifecycle_stage": ["active", "at risk", "churned"],
        "churn_risk": ["high", "low"],
        "rfm_segment": ["at risk", "champions", "lost"],
        "value_decile": [2, 9, 10],
        "acquisition_channel": ["ads", "search"],
        "segment": ["vip"],
    }


def test_pages_of_fifty_link_to_each_other_keeping_the_filters() -> None:
    for number in range(PAGE_SIZE + 3):
        make_customer(external_id=f"p-{number:03d}", acquisition_channel="ads")
    client = signed_in()
    first = client.get("/customers/?acquisition_channel=ads")
    assert len(first.context["rows"]) == PAGE_SIZE
    assert first.context["next"] == "acquisition_channel=ads&page=2"
    html = first.content.decode()
    assert "Page 1" in html and 'href="/customers/?acquisition_channel=ads&amp;page=2"' in html
    second = client.get("/customers/?acquisition_channel=ads&page=2")
    assert _ids(second) == ["p-050", "p-051", "p-052"]
    assert second.context["previous"] == "acquisition_channel=ads"


def test_htmx_gets_the_results_alone_and_the_clean_address_to_show() -> None:
    _shop()
    response = signed_in().get(
        "/customers/?q=&churn_risk=high&segment=&sort=value", headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<form" not in html and "<html" not in html and "Bob Babbage" in html
    assert response["HX-Push-Url"] == "/customers/?churn_risk=high&sort=value"
    assert "HX-Request" in response["Vary"]
    # Going back in history asks for the whole page again.
    restored = signed_in().get(
        "/customers/?churn_risk=high",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<form" in restored.content.decode()


def test_the_count_stops_at_the_limit_and_says_more_than() -> None:
    for number in range(7):
        make_customer(external_id=f"m-{number}")
    capped = search_customers("m-", page_size=2, count_limit=5)
    assert (capped.total, capped.total_capped, capped.pages) == (5, True, 3)
    exact = search_customers("m-", page_size=2, count_limit=7)
    assert (exact.total, exact.total_capped) == (7, False)


def test_the_count_follows_in_its_own_request_and_says_more_than_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _shop()
    client = signed_in()
    htmx = {"HX-Request": "true"}
    assert client.get(
        "/customers/count?churn_risk=high", headers=htmx
    ).content.decode().strip() == ("2 customers")
    assert client.get("/customers/count?q=ada", headers=htmx).content.decode().strip() == (
        "1 customer"
    )
    page = client.get("/customers/count?churn_risk=high").content.decode()  # without JS
    assert "2 customers" in page and 'href="/customers/?churn_risk=high"' in page
    assert client.get("/customers/count?value_decile=0").status_code == 400
    assert COUNT_LIMIT == 10_000
    monkeypatch.setattr("retain.customers.views.search.COUNT_LIMIT", 2)
    capped = client.get("/customers/count", headers=htmx).content.decode()
    assert "More than 2 customers match; the first 2 are listed." in capped


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("?page=abc", "“page” must be a whole number from 1 to 200; got “abc”."),
        ("?page=0", "“page” must be a whole number from 1 to 200; got “0”."),
        ("?page=201", "“page” must be a whole number from 1 to 200; got “201”."),
        ("?page=٣", "“page” must be a whole number from 1 to 200; got “٣”."),
        ("?page=3", "Page 3 is past the last page, 1."),
        ("?sort=name", "“sort” must be one of id, value, risk; got “name”."),
        ("?email_consent=maybe", "“email_consent” must be one of granted, refused, unknown"),
        ("?value_decile=11", "“value_decile” must be a whole number from 1 to 10; got “11”."),
        ("?q=ada%00", "“q” holds a NUL character, which no customer's data holds."),
        ("?segment=%00vip", "“segment” holds a NUL character"),
        ("?q=" + "x" * 300, "The search text is 300 characters long; at most 254 are searched."),
    ],
)
def test_a_bad_address_is_a_400_page_that_says_what_is_wrong(address: str, message: str) -> None:
    _shop()
    client = signed_in()
    response = client.get(f"/customers/{address}")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and message.replace("'", "&#x27;") in html
    assert "<form" in html  # the search form is still there to try again
    export = client.get(f"/customers/export.csv{address}")
    if "past the last page" not in message:  # the export has no pages
        assert export.status_code == 400


def test_an_agent_sees_the_list_but_may_not_export_it() -> None:
    _shop()
    agent = signed_in(make_user(role="agent"))
    html = agent.get("/customers/").content.decode()
    assert "Ada Lovelace" in html and "export.csv" not in html
    assert agent.get("/customers/export.csv").status_code == 403
    assert signed_in(make_user(role="analyst")).get("/customers/export.csv").status_code == 200


def _export(client: Client, address: str = "") -> list[list[str]]:
    response = client.get(f"/customers/export.csv{address}")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_export_holds_every_matching_customer_with_their_scores() -> None:
    _shop()
    rows = _export(signed_in(), "?churn_risk=high&sort=value&page=1")
    assert rows[0][:7] == ["customer_id", "name", "email", "acquisition_channel", "segment",
                           "lifecycle_stage", "rfm_segment"]  # fmt: skip
    assert "p_alive" in rows[0] and "clv_12m" in rows[0] and "value_decile" in rows[0]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert [row[0] for row in rows[1:]] == ["B-2", "C-3"]
    assert record["name"] == "Bob Babbage" and record["churn_risk"] == "high"
    assert float(record["clv_12m"]) == 500.0 and float(record["p_alive"]) == 0.2
    everyone = _export(signed_in())
    assert [row[0] for row in everyone[1:]] == ["A-1", "B-2", "C-3", "D-4"]
    assert everyone[-1][5:] == [""] * 13  # never scored: empty score cells


def test_the_export_streams_past_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("retain.customers.views.export.CHUNK_ROWS", 3)
    for number in range(2005):
        make_customer(external_id=f"e-{number:04d}", email="", name="")
    rows = _export(signed_in())
    assert [row[0] for row in rows[1:]] == [f"e-{number:04d}" for number in range(2005)]


def test_the_export_neutralises_text_a_spreadsheet_would_run() -> None:
    make_customer(external_id="=1+1", name='=HYPERLINK("https://evil.test","click")',
                  email="@evil.test", segment="-2", acquisition_channel="+ads")  # fmt: skip
    make_score(make_customer(external_id="plain", name="Plain Name"), clv_12m=-3.5)
    rows = _export(signed_in())
    hostile = rows[1]
    assert hostile[:5] == ["'=1+1", '\'=HYPERLINK("https://evil.test","click")', "'@evil.test",
                           "'+ads", "'-2"]  # fmt: skip
    plain = dict(zip(rows[0], rows[2], strict=True))
    assert plain["name"] == "Plain Name" and plain["clv_12m"] == "-3.5"  # numbers stay numbers


def test_the_list_escapes_a_hostile_name_on_the_page() -> None:
    make_customer(external_id="x-1", name="<script>alert(1)</script>")
    html = signed_in().get("/customers/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
