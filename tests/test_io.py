"""The one reader of users' files: files as shops export them (docs/analytics.md, "Files as
shops export them"), each read the documented way or refused with the line, the ids and a
plain value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retain.analytics import completed_orders, rfm_summary
from retain.errors import DataError
from retain.io import FileOptions, read_file

HEADER = "customer_id,order_id,ordered_at,amount\n"


def write(tmp_path: Path, text: str, name: str = "orders.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def rows(path: Path, **options) -> list[dict]:
    return read_file(path, kind="orders", options=FileOptions(**options)).to_pylist()


def refusal(path: Path, **options) -> DataError:
    with pytest.raises(DataError) as raised:
        read_file(path, kind="orders", options=FileOptions(**options))
    return raised.value


# -- ids ----------------------------------------------------------------------------------


def test_ids_with_leading_zeros_and_slashes_stay_as_written(tmp_path) -> None:
    path = write(tmp_path, HEADER + "007,A/1,2024-01-05,10\n7,A/2,2024-01-06,10\n")
    got = rows(path)
    assert [(r["customer_id"], r["order_id"]) for r in got] == [("007", "A/1"), ("7", "A/2")]
    summary = rfm_summary(
        read_file(path, kind="orders"), datetime="ordered_at", observation_end="2024-01-31"
    )
    assert sorted(summary.customer_id) == ["007", "7"]  # two customers, not one


def test_parquet_ids_are_cast_to_text(tmp_path) -> None:
    path = tmp_path / "orders.parquet"
    pd.DataFrame(
        {"customer_id": [7.0, 12.0], "order_id": [1, 2], "ordered_at": ["2024-01-05"] * 2,
         "amount": [1.0, 2.0]}
    ).to_parquet(path)  # fmt: skip
    got = read_file(path, kind="orders").to_pylist()
    assert [(r["customer_id"], r["order_id"], r["_row"]) for r in got] == [
        ("7", "1", 1),
        ("12", "2", 2),
    ]


# -- the file's shape -----------------------------------------------------------------------


def test_a_bom_and_windows_line_endings_are_read_cleanly(tmp_path) -> None:
    text = "\ufeff" + (HEADER + "c1,o1,2024-01-05,10.50\n").replace("\n", "\r\n")
    got = rows(write(tmp_path, text))
    assert got == [
        {"customer_id": "c1", "order_id": "o1", "ordered_at": "2024-01-05 00:00:00",
         "amount": "10.50", "_line": 2}
    ]  # fmt: skip


def test_semicolons_are_found_in_the_header_or_given(tmp_path) -> None:
    path = write(tmp_path, "customer_id;order_id;ordered_at;amount\nc1;o1;2024-01-05;10\n")
    assert rows(path)[0]["order_id"] == "o1"
    assert rows(path, delimiter=";")[0]["amount"] == "10"


def test_a_header_with_two_separators_is_refused_unless_one_is_given(tmp_path) -> None:
    path = write(tmp_path, "customer_id;order_id;ordered_at;amount,x\nc1;o1;2024-01-05;10,y\n")
    error = refusal(path)
    assert "the header line has both ',' and ';'" in str(error)
    assert "--delimiter" in str(error)
    assert rows(path, delimiter=";")[0]["amount,x"] == "10,y"


def test_rows_carry_their_line_with_quoted_newlines_and_blank_lines(tmp_path) -> None:
    text = HEADER + 'c1,o1,2024-01-05,1\n\n"c\n2",o2,2024-01-05,2\nc3,o3,2024-01-05,3\n'
    assert [row["_line"] for row in rows(write(tmp_path, text))] == [2, 4, 6]


def test_extra_columns_are_kept_and_ignored_by_the_analyses(tmp_path) -> None:
    path = write(tmp_path, "customer_id,order_id,ordered_at,amount,note,sku\n"
                           "c1,o1,2024-01-05,10,gift,X-1\n")  # fmt: skip
    table = read_file(path, kind="orders")
    assert table.column("note").to_pylist() == ["gift"]
    checked, _ = completed_orders(table)
    assert checked.amount.sum().to_pyarrow().as_py() == 10.0


def test_a_header_only_file_is_refused_for_an_analysis_and_empty_for_an_import(tmp_path) -> None:
    path = write(tmp_path, HEADER)
    assert str(refusal(path)) == f"{path}: the file has a header but no rows: nothing to analyse"
    assert read_file(path, kind="orders", allow_empty=True).num_rows == 0
    assert str(refusal(write(tmp_path, "", "empty.csv"))).endswith("empty.csv: the file is empty")


def test_a_file_that_is_not_utf8_is_refused_with_what_to_do(tmp_path) -> None:
    path = write(tmp_path, HEADER + "Müller,o1,2024-01-05,10\n", encoding="latin-1")
    assert "save it as CSV UTF-8" in str(refusal(path))


def test_a_mapped_column_is_renamed_and_a_missing_one_named_with_its_option(tmp_path) -> None:
    path = write(tmp_path, "Customer,order_id,Date,amount\nc1,o1,2024-01-05,10\n")
    got = rows(path, customer_id="Customer", ordered_at="Date")
    assert (got[0]["customer_id"], got[0]["ordered_at"]) == ("c1", "2024-01-05 00:00:00")
    error = refusal(path, ordered_at="When")
    assert "no column 'When' (given with --ordered-at)" in str(error)


# -- amounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "options", "expected"),
    [
        ("1234.50", {}, "1234.50"),
        ("1e3", {}, "1e3"),
        ('"1,234.50"', {"thousands": ","}, "1234.50"),
        ('"12,50"', {"decimal": ","}, "12.50"),
        ('"1.234,50"', {"decimal": ",", "thousands": "."}, "1234.50"),
        ("1 234.50", {"thousands": " "}, "1234.50"),
    ],
)
def test_amounts_are_read_as_the_options_say(tmp_path, written, options, expected) -> None:
    path = write(tmp_path, HEADER + f"c1,o1,2024-01-05,{written}\n")
    assert rows(path, **options)[0]["amount"] == expected


@pytest.mark.parametrize(("written", "shown"), [('"1,234.50"', "1,234.50"), ('"12,50"', "12,50")])
def test_a_thousands_separator_or_decimal_comma_is_refused_not_guessed(
    tmp_path, written, shown
) -> None:
    path = write(tmp_path, HEADER + "c1,o1,2024-01-05,3\n" + f"c2,o2,2024-01-05,{written}\n")
    error = refusal(path)
    assert error.column == "amount" and error.bad_rows == 1
    assert f'line 3: customer_id "c2", order_id "o2", amount "{shown}"' in str(error)
    assert "--decimal" in str(error) and "--thousands" in str(error)


@pytest.mark.parametrize("written", ["$12.50", "12.50 €", "EUR 12.50", "£3"])
def test_a_currency_symbol_is_refused(tmp_path, written) -> None:
    error = refusal(write(tmp_path, HEADER + f"c1,o1,2024-01-05,{written}\n"))
    assert "currency symbol or code" in str(error)
    assert f'line 2: customer_id "c1", order_id "o1", amount "{written}"' in str(error)


def test_text_that_is_no_number_is_left_to_the_checks_with_its_line(tmp_path) -> None:
    path = write(tmp_path, HEADER + "c1,o1,2024-01-05,10\nc2,o2,2024-01-05,lots\n")
    with pytest.raises(DataError) as raised:
        completed_orders(read_file(path, kind="orders"))
    assert str(raised.value) == (
        "column 'amount': amount is missing or not a number (1 bad row(s), "
        'e.g. line 3: customer_id "c2", order_id "o2", amount "lots")'
    )


# -- times --------------------------------------------------------------------------------


def test_day_and_month_without_an_option_are_refused(tmp_path) -> None:
    error = refusal(write(tmp_path, HEADER + "c1,o1,05/03/2024,10\n"))
    assert error.column == "ordered_at"
    assert "--day-first or --month-first" in str(error)
    assert 'line 2: customer_id "c1", order_id "o1", ordered_at "05/03/2024"' in str(error)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"day_first": True}, "2024-03-05 00:00:00"),
        ({"day_first": False}, "2024-05-03 00:00:00"),
        ({"date_format": "%d.%m.%Y %H:%M"}, "2024-03-05 14:30:00"),
    ],
)
def test_day_first_or_month_first_or_a_format_says_which(tmp_path, options, expected) -> None:
    written = "05.03.2024 14:30" if "date_format" in options else "05/03/2024"
    assert (
        rows(write(tmp_path, HEADER + f"c1,o1,{written},10\n"), **options)[0]["ordered_at"]
        == expected
    )


def test_offsets_are_converted_to_the_shops_time_zone_which_defaults_to_utc(tmp_path) -> None:
    path = write(tmp_path, HEADER + "c1,o1,2024-01-05T23:30:00-05:00,10\nc1,o2,2024-01-05,5\n")
    assert [r["ordered_at"] for r in rows(path)] == ["2024-01-06 04:30:00", "2024-01-05 00:00:00"]
    in_new_york = rows(path, timezone="America/New_York")
    assert [r["ordered_at"] for r in in_new_york] == ["2024-01-05 23:30:00", "2024-01-05 00:00:00"]
    # the day an order falls on is the shop's day: one purchase day in New York, two in UTC
    for zone, days in (("UTC", 1), ("America/New_York", 0)):
        table = read_file(path, kind="orders", options=FileOptions(timezone=zone))
        summary = rfm_summary(table, datetime="ordered_at", observation_end="2024-01-31")
        assert summary.frequency.tolist() == [days]


def test_times_for_the_store_keep_the_instant_with_the_shops_offset(tmp_path) -> None:
    path = write(tmp_path, HEADER + "c1,o1,2024-01-05T23:30:00-05:00,10\nc1,o2,2024-07-01,5\n")
    table = read_file(path, kind="orders", options=FileOptions(timezone="Europe/Berlin"),
                      keep_offsets=True)  # fmt: skip
    assert table.column("ordered_at").to_pylist() == [
        "2024-01-06 05:30:00+0100",
        "2024-07-01 00:00:00+0200",
    ]


def test_epoch_seconds_are_refused_without_the_option_and_read_with_it(tmp_path) -> None:
    path = write(tmp_path, HEADER + "c1,o1,1704067200,10\n")
    assert "--date-format epoch" in str(refusal(path))
    assert rows(path, date_format="epoch")[0]["ordered_at"] == "2024-01-01 00:00:00"
    bangkok = rows(path, date_format="epoch", timezone="Asia/Bangkok")
    assert bangkok[0]["ordered_at"] == "2024-01-01 07:00:00"


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(DataError, match="unknown time zone 'Mars/Olympus'"):
        FileOptions(timezone="Mars/Olympus")


# -- errors in the user's terms -----------------------------------------------------------


def test_repeated_order_ids_count_ids_and_rows_with_the_lines(tmp_path) -> None:
    lines = ["A-1", "B-2", "A-1", "C-3", "B-2", "A-1", "D-4"]
    text = HEADER + "".join(f"c{i},{o},2024-01-05,1\n" for i, o in enumerate(lines))
    with pytest.raises(DataError) as raised:
        completed_orders(read_file(write(tmp_path, text), kind="orders"))
    assert str(raised.value) == (
        "column 'order_id': 2 order ids appear more than once, on 5 rows; each order must be "
        'on one row (5 bad row(s), e.g. lines 2, 4, 7: order_id "A-1")'
    )


def test_negative_amounts_name_the_line_and_ids_in_plain_values(tmp_path) -> None:
    text = HEADER + "007,A-1,2024-01-05,10\n007,A-2,2024-01-06,-5.5\n8,A-3,2024-01-07,-1\n"
    with pytest.raises(DataError) as raised:
        completed_orders(read_file(write(tmp_path, text), kind="orders"))
    message = str(raised.value)
    assert message.startswith("column 'amount': amount is negative")
    assert message.endswith('(2 bad row(s), e.g. line 3: customer_id "007", order_id "A-2", '
                            'amount "-5.5")')  # fmt: skip
    assert "np.float64" not in message and "Timestamp" not in message
