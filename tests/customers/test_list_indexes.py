"""The indexes the customers list needs at a million customers: on PostgreSQL the substring
search is served by trigram indexes (its SQL has the indexes' form), and SQLite, which has no
pg_trgm, migrates and searches all the same."""

from __future__ import annotations

import pytest
from django.db import connection

from retain.customers.queries import matching_customers, search_customers
from tests.customers.builders import make_customer, make_score

pytestmark = pytest.mark.django_db
TRIGRAM_INDEXES = {"customer_external_id_trgm", "customer_email_trgm", "customer_name_trgm"}


def _index_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename LIKE 'customers_%%'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {row[0] for row in cursor.fetchall()}


def test_filters_and_sorts_have_indexes_on_both_engines() -> None:
    wanted = {"score_stage_idx", "score_risk_idx", "score_rfm_idx", "score_decile_idx",
              "score_clv_idx", "score_p_alive_idx", "customer_channel_idx",
              "customer_segment_idx"}  # fmt: skip
    names = _index_names()
    assert wanted <= names
    if connection.vendor == "postgresql":
        assert names >= TRIGRAM_INDEXES
    else:
        assert not TRIGRAM_INDEXES & names


def test_the_substring_search_uses_the_trigram_indexes_on_postgresql() -> None:
    make_customer(external_id="A-1", name="Ada Lovelace", email="ada@math.org")
    found = search_customers("LOVEL")
    assert [customer.external_id for customer in found.items] == ["A-1"]
    if connection.vendor != "postgresql":
        return
    sql, params = matching_customers("lovel").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the choice plain
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in TRIGRAM_INDEXES:
        assert index in plan, plan


def test_sorting_scored_customers_by_value_walks_the_index_on_postgresql() -> None:
    from retain.customers.queries import SCORED_SORTS

    scored = matching_customers("ada").filter(score__isnull=False)
    if connection.vendor != "postgresql":
        return
    sql, params = scored.order_by(*SCORED_SORTS["value"])[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "score_clv_idx" in plan, plan


@pytest.mark.parametrize("sort", ["value", "risk"])
def test_pages_by_value_or_risk_run_on_into_the_customers_never_scored(sort: str) -> None:
    from retain.customers.queries import list_page

    for number in range(5):
        make_score(make_customer(external_id=f"s-{number}"), clv_12m=10.0 * number,
                   p_alive=0.1 * number)  # fmt: skip
    for number in range(4):
        make_customer(external_id=f"u-{number}")
    scored = [f"s-{n}" for n in ((4, 3, 2, 1, 0) if sort == "value" else (0, 1, 2, 3, 4))]
    expected = scored + [f"u-{n}" for n in range(4)]
    pages = [
        list_page(matching_customers(), page=n, page_size=2, sort=sort) for n in (1, 2, 3, 4, 5, 6)
    ]
    assert [c.external_id for page in pages for c in page.items] == expected
    assert [page.has_next for page in pages] == [True, True, True, True, False, False]
