"""Customers, complaints and survey answers: typed when good, named when bad."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from retain.analytics.inputs import check_complaints, check_customers, check_survey_answers
from retain.datasets import make_business
from retain.errors import DataError


@pytest.fixture(scope="module")
def business():
    return make_business(800, seed=2)


def test_the_synthetic_business_passes_every_check(business) -> None:
    customers = check_customers(business.customers, today=dt.date(2025, 1, 1))
    assert customers.count().to_pyarrow().as_py() == len(business.customers)
    assert str(customers.schema()["signed_up_at"]).startswith("timestamp")
    assert check_complaints(business.complaints).count().to_pyarrow().as_py() == len(
        business.complaints
    )
    answers = check_survey_answers(business.survey_answers)
    assert answers.count().to_pyarrow().as_py() == len(business.survey_answers)


def customers_with(**change) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "signed_up_at": ["2024-01-01", "2024-02-01", "2024-03-01"],
            "birthday": ["1980-05-01", None, "1990-01-01"],
        }
    )
    for name, values in change.items():
        frame[name] = values
    return frame


@pytest.mark.parametrize(
    ("change", "column", "bad_rows"),
    [
        ({"customer_id": [1, 1, 3]}, "customer_id", 2),
        ({"customer_id": [1, None, 3]}, "customer_id", 1),
        ({"signed_up_at": ["2024-01-01", "soon", "2024-03-01"]}, "signed_up_at", 1),
        ({"birthday": ["1980-05-01", "2999-01-01", None]}, "birthday", 1),
        ({"birthday": ["1980-05-01", "May 5th", None]}, "birthday", 1),
    ],
)
def test_bad_customers_are_named(change, column, bad_rows) -> None:
    with pytest.raises(DataError) as caught:
        check_customers(customers_with(**change), today=dt.date(2025, 1, 1))
    assert (caught.value.column, caught.value.bad_rows) == (column, bad_rows)


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"resolved_at": ["2024-01-01", "2023-12-01"]}, "resolved_at"),
        ({"severity": [1, 9]}, "severity"),
        ({"severity": [1, 2.5]}, "severity"),
        ({"complaint_id": [5, 5]}, "complaint_id"),
    ],
)
def test_bad_complaints_are_named(change, column) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "complaint_id": [5, 6],
            "opened_at": ["2024-01-01", "2024-01-02"],
            "resolved_at": ["2024-01-03", None],
            "severity": [1, 3],
        }
    )
    for name, values in change.items():
        frame[name] = values
    with pytest.raises(DataError) as caught:
        check_complaints(frame)
    assert caught.value.column == column


@pytest.mark.parametrize(
    ("survey", "score", "message"),
    [("nps", 11, "from 0 to 10"), ("CSAT", 0, "from 1 to 5"), ("nps", 7.5, "whole number")],
)
def test_scores_outside_their_survey_range_are_refused(survey, score, message) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "survey": ["nps", survey],
            "answered_at": ["2024-01-01", "2024-01-02"],
            "score": [9, score],
        }
    )
    with pytest.raises(DataError, match=message) as caught:
        check_survey_answers(frame)
    assert caught.value.column == "score" and caught.value.bad_rows == 1


def test_a_customers_table_with_only_an_id_and_an_email_is_enough() -> None:
    frame = pd.DataFrame({"customer_id": ["007", "7"], "email": ["a@x.org", "b@x.org"]})
    checked = check_customers(frame).to_pyarrow().to_pylist()
    assert checked == [
        {"customer_id": "007", "email": "a@x.org"},
        {"customer_id": "7", "email": "b@x.org"},
    ]


def test_numeric_customer_ids_become_text() -> None:
    checked = check_customers(pd.DataFrame({"customer_id": [7.0, 12.0]}))
    assert checked.customer_id.to_pyarrow().to_pylist() == ["7", "12"]


def test_repeated_customer_ids_count_the_ids_and_their_rows() -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b", "a", "b", "a", "c"], "_line": range(2, 8)})
    with pytest.raises(DataError) as caught:
        check_customers(frame)
    assert (caught.value.column, caught.value.bad_rows) == ("customer_id", 5)
    assert str(caught.value) == (
        "column 'customer_id': 2 customer ids appear more than once, on 5 rows; each customer "
        'must be on one row (5 bad row(s), e.g. lines 2, 4, 6: customer_id "a")'
    )
