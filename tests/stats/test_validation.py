"""Reading tables into checked arrays: every kind of table, and clear errors for bad ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from retain.errors import DataError
from retain.stats import distinct_rows
from retain.stats._validation import check_rfm_summary, compress, read_columns, weights_of


def make_summary(**overrides: list[float]) -> dict[str, list[float]]:
    """Typed builder: a valid three-customer RFM summary, with columns replaced at will."""
    summary = {"frequency": [0.0, 2.0, 5.0], "recency": [0.0, 10.0, 30.0], "T": [39.0] * 3}
    summary.update(overrides)
    return summary


@pytest.mark.parametrize(
    "convert",
    [dict, pd.DataFrame, pl.DataFrame, pa.table],
    ids=["dict", "pandas", "polars", "pyarrow"],
)
def test_every_kind_of_table_is_read_the_same(convert) -> None:
    columns = read_columns(convert(make_summary()), ["frequency", "recency", "T"])
    np.testing.assert_array_equal(columns["recency"], [0.0, 10.0, 30.0])
    assert columns["T"].dtype == np.float64


def test_missing_column_names_the_column_and_what_is_there() -> None:
    with pytest.raises(DataError) as caught:
        read_columns({"frequency": [1.0]}, ["frequency", "recency"])
    assert caught.value.column == "recency"
    assert str(caught.value) == (
        "column 'recency': missing required column; the table has ['frequency']"
    )


def test_empty_table_is_refused() -> None:
    with pytest.raises(DataError, match="the table is empty: at least one row is needed"):
        read_columns(make_summary(frequency=[], recency=[], T=[]), ["frequency"])


def test_nan_is_refused_with_count_and_example() -> None:
    with pytest.raises(DataError) as caught:
        read_columns(make_summary(recency=[0.0, np.nan, np.nan]), ["frequency", "recency"])
    assert (caught.value.column, caught.value.bad_rows) == ("recency", 2)
    assert caught.value.example["row"] == 1


def test_text_values_are_refused() -> None:
    with pytest.raises(DataError, match=r"^column 'frequency': values must be numbers") as caught:
        read_columns({"frequency": ["a", "b"]}, ["frequency"])
    assert caught.value.column == "frequency"


@pytest.mark.parametrize(
    ("overrides", "column", "message"),
    [
        ({"frequency": [0.0, -1.0, 5.0]}, "frequency", ">= 0"),
        ({"frequency": [0.0, 2.5, 5.0]}, "frequency", "whole number"),
        ({"recency": [0.0, 10.0, 40.0]}, "recency", "must not exceed T"),
        ({"recency": [3.0, 10.0, 30.0]}, "recency", "must be 0"),
        ({"T": [-1.0, 39.0, 39.0], "recency": [0.0, 10.0, 30.0]}, "T", ">= 0"),
    ],
)
def test_impossible_summaries_name_the_column(overrides, column, message) -> None:
    columns = read_columns(make_summary(**overrides), ["frequency", "recency", "T"])
    with pytest.raises(DataError, match=message) as caught:
        check_rfm_summary(columns)
    assert caught.value.column == column
    assert caught.value.bad_rows == 1


def test_weights_must_be_positive() -> None:
    columns = read_columns(make_summary(weight=[1.0, 0.0, 2.0]), ["frequency"], ["weight"])
    with pytest.raises(DataError, match=r"^column 'weight': must be > 0") as caught:
        weights_of(columns)
    assert (caught.value.bad_rows, caught.value.example) == (1, {"row": 1, "weight": 0.0})


def test_compress_sums_the_weights_of_identical_rows() -> None:
    columns = {"x": np.array([1.0, 2.0, 1.0, 1.0]), "y": np.array([5.0, 5.0, 5.0, 6.0])}
    unique, weights = compress(columns, ["x", "y"], np.array([1.0, 1.0, 2.0, 1.0]))
    rows = {(x, y): w for x, y, w in zip(unique["x"], unique["y"], weights, strict=True)}
    assert rows == {(1.0, 5.0): 3.0, (2.0, 5.0): 1.0, (1.0, 6.0): 1.0}


def test_distinct_rows_spread_back_give_every_row() -> None:
    columns = {"x": np.array([1.0, 2.0, 1.0, 1.0, 2.0]), "y": np.array([5.0, 5.0, 5.0, 6.0, 5.0])}
    distinct, inverse = distinct_rows(columns, ["x", "y"])
    assert sorted(zip(distinct["x"], distinct["y"], strict=True)) == [(1, 5), (1, 6), (2, 5)]
    for name in ("x", "y"):
        np.testing.assert_array_equal(distinct[name][inverse], columns[name])
