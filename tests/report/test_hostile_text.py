"""Text from a user's file cannot act in the user's tools: no formula runs in a spreadsheet
opening a CSV retain wrote, no markup runs in the report."""

from __future__ import annotations

import csv
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from retain.csv_safety import FORMULA_STARTS, neutralise_arrow
from retain.io import write_table
from retain.report import analyze, write_outputs

STARTS = (*FORMULA_STARTS, "")  # every formula start, and a plain id


def hostile_id(number: int) -> str:
    """An id that starts a formula (all but one in seven) and carries markup."""
    return f"{STARTS[number % len(STARTS)]}<script>alert({number})</script>"


def neutralised(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@pytest.fixture(scope="module")
def written(cdnow_transactions: pd.DataFrame, tmp_path_factory) -> dict[str, Path]:
    orders = pd.DataFrame(
        {
            "customer_id": cdnow_transactions.customer_id.map(hostile_id),
            "order_id": np.arange(1, len(cdnow_transactions) + 1),
            "ordered_at": cdnow_transactions.date,
            "amount": cdnow_transactions.amount,
            "channel": np.where(
                cdnow_transactions.customer_id % 2 == 0,
                "=cmd|' /C calc'!A0",
                "<script>steal()</script>",
            ),
        }
    )
    return write_outputs(analyze(orders), tmp_path_factory.mktemp("hostile"))


def read_cells(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_scores_csv_neutralises_every_id_that_starts_a_formula(written) -> None:
    rows = read_cells(written["csv"])
    assert len(rows) == 2357
    original = pd.read_parquet(written["parquet"]).customer_id  # Parquet keeps the values
    assert [row["customer_id"] for row in rows] == [neutralised(v) for v in original]
    assert sum(row["customer_id"].startswith("'") for row in rows) > 2000
    # Numbers stay numbers.
    assert all(float(row["clv_12m"]) >= 0 for row in rows)
    assert not any(row["p_alive"].startswith("'") for row in rows)


def test_every_customer_list_is_neutralised(written) -> None:
    lists = [name for name in written if name.endswith(".csv") and name != "csv"]
    assert set(lists) == {
        "lifecycle-at-risk.csv",
        "rfm-win-back.csv",
        "most-valuable-customers.csv",
        "big-spenders-at-risk.csv",
    }
    for name in lists:
        rows = read_cells(written[name])
        assert rows, name
        ids = [row["Customer"] for row in rows]
        assert all(not i.startswith(FORMULA_STARTS) for i in ids), name
        assert any(i.startswith("'=") for i in ids), name


def test_report_escapes_ids_and_channel_names(written) -> None:
    html = written["report"].read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;alert(" in html  # an id in the big spenders' table
    assert "&lt;script&gt;steal()&lt;/script&gt;" in html  # a channel name
    assert "=cmd|&#x27; /C calc&#x27;!A0" in html


def test_only_text_cells_are_neutralised_and_negative_numbers_stay_numbers(
    tmp_path: Path,
) -> None:
    table = pa.table(
        {
            "label": ["-5", "=1+1", "ok", None],
            "delta": [-1.5, 2.0, -3.25, 0.0],
            "count": pa.array([-2, 3, -4, 5], pa.int64()),
        }
    )
    assert neutralise_arrow(table).to_pylist() == [
        {"label": "'-5", "delta": -1.5, "count": -2},
        {"label": "'=1+1", "delta": 2.0, "count": 3},
        {"label": "ok", "delta": -3.25, "count": -4},
        {"label": None, "delta": 0.0, "count": 5},
    ]
    path = write_table(ibis.memtable(table), tmp_path / "out.csv")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1:3] == [["'-5", "-1.5", "-2"], ["'=1+1", "2.0", "3"]]
