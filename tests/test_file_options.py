"""`retain rfm`, `retain analyze` and `retain import` read files the same way: one set of
column and format options, one reader, errors in the file's own terms."""

from __future__ import annotations

import pandas as pd
import pytest

from retain.cli import build_parser, in_analyze_terms, main
from retain.errors import DataError
from retain.file_options import file_options
from retain.io import FileOptions
from retain.stats import BetaGeoModel

OPTIONS = [
    "--customer-id", "Customer", "--order-id", "Order", "--ordered-at", "Date",
    "--amount", "Total", "--status", "State", "--delimiter", ";", "--decimal", ",",
    "--thousands", ".", "--day-first", "--timezone", "Europe/Berlin",
]  # fmt: skip
EXPECTED = FileOptions(
    customer_id="Customer", order_id="Order", ordered_at="Date", amount="Total",
    status="State", delimiter=";", decimal=",", thousands=".", day_first=True,
    timezone="Europe/Berlin",
)  # fmt: skip
COMMANDS = {
    "rfm": ["rfm", "orders.csv", "--observation-end", "2024-01-31"],
    "analyze": ["analyze", "orders.csv", "--out", "out"],
    "import": ["import", "orders", "orders.csv"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_reading_command_takes_the_same_options(command) -> None:
    args = build_parser().parse_args([*COMMANDS[command], *OPTIONS])
    assert file_options(args) == EXPECTED


@pytest.mark.parametrize("command", COMMANDS)
def test_the_defaults_are_the_documented_orders_format(command) -> None:
    args = build_parser().parse_args(COMMANDS[command])
    assert file_options(args) == FileOptions()
    assert file_options(args).ordered_at == "ordered_at"


def test_day_first_and_month_first_exclude_each_other(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*COMMANDS["rfm"], "--day-first", "--month-first"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_rfm_reads_ordered_at_by_default(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,order_id,ordered_at,amount\n007,o1,2024-01-03,10\n007,o2,2024-01-17,30\n"
        "7,o3,2024-01-10,5\n"
    )
    out = tmp_path / "summary.csv"
    code = main(["rfm", str(orders), "--observation-end", "2024-01-31", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    lines = out.read_text().splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [["007", "1"], ["7", "0"]]


def test_a_shops_own_columns_and_formats_are_read_through_the_options(tmp_path, capsys) -> None:
    orders = tmp_path / "export.csv"
    orders.write_text(
        "Customer;Date;Total\n007;03.01.2024;1.010,50\n007;17.01.2024;30,00\n",
        encoding="utf-8-sig",
    )
    out = tmp_path / "summary.csv"
    code = main([
        "rfm", str(orders), "--observation-end", "2024-01-31", "--out", str(out),
        "--customer-id", "Customer", "--ordered-at", "Date", "--amount", "Total",
        "--decimal", ",", "--thousands", ".", "--date-format", "%d.%m.%Y",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    header, row = out.read_text().splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert (values["customer_id"], values["frequency"], values["monetary_value"]) == (
        "007",
        "1",
        "30.0",
    )


def test_an_error_names_the_files_own_column(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,Date,amount\n1,2024-01-03,10\n2,not-a-date,5\n")
    code = main(["rfm", str(orders), "--observation-end", "2024-01-31", "--ordered-at", "Date"])
    err = capsys.readouterr().err
    assert code == 2
    assert "column 'Date' (ordered_at)" in err and 'line 3: customer_id "2"' in err


def test_a_missing_column_says_which_option_maps_it(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,date,amount\n1,2024-01-03,10\n")
    assert main(["rfm", str(orders), "--observation-end", "2024-01-31"]) == 2
    err = capsys.readouterr().err
    assert "column 'ordered_at': missing column" in err
    assert "--ordered-at COL" in err and "'_line'" not in err


def test_rfm_with_an_observation_end_before_every_order_says_so(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,ordered_at,amount\n1,2024-01-03,10\n")
    assert main(["rfm", str(orders), "--observation-end", "2023-01-01"]) == 2
    assert "no customer bought on or before the observation end 2023-01-01" in (
        capsys.readouterr().err
    )


ORDERS = "customer_id,order_id,ordered_at,amount\n" + "".join(
    f"{c},o{c}-{n},2024-{m:02d}-{d:02d},{10 + n}\n"
    for c in range(1, 41)
    for n, (m, d) in enumerate([(1, 1 + c % 20), (3, 2 + c % 25), (6, 3 + c % 20)][: 1 + c % 3])
)


def test_analyze_joins_text_customer_ids_to_numeric_ones(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,acquisition_channel\n"
        + "".join(f"{c},{'ads' if c % 2 else 'web'}\n" for c in range(1, 41))
    )
    out = tmp_path / "out"
    code = main(["analyze", str(orders), "--customers", str(customers), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert (out / "report.html").is_file()


def test_analyze_refuses_a_header_only_file_in_words(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,order_id,ordered_at,amount\n")
    assert main(["analyze", str(orders), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error [data_error]: {orders}: the file has a header but no rows: " + (
        "nothing to analyse"
    )


def test_analyze_refuses_an_observation_end_before_the_first_order(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    code = main(["analyze", str(orders), "--observation-end", "2023-06-30", "--out", "x"])
    assert code == 2
    assert "the observation end 2023-06-30 is before the first order (2024-01-01)" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "command",
    [
        ["rfm", "--observation-end", "2024-01-31"],
        ["analyze", "--observation-end", "2024-01-31", "--out", "unused"],
    ],
)
def test_a_missing_column_is_named_by_the_users_column_not_a_keyword(
    tmp_path, capsys, command
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,order_id,date,amount\n1,o1,2024-01-03,10\n")
    assert main([command[0], str(orders), *command[1:]]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == (
        "error [data_error]: column 'ordered_at': missing column; the table has "
        "['customer_id', 'order_id', 'date', 'amount']; name the file's column for it with "
        "--ordered-at COL"
    )


def test_a_library_caller_reads_the_column_they_gave_not_the_keyword() -> None:
    from retain.analytics import rfm_summary

    frame = pd.DataFrame({"customer_id": ["1"], "day": ["2024-01-03"]})
    with pytest.raises(DataError) as raised:
        rfm_summary(frame, datetime="date", observation_end="2024-01-31")
    assert str(raised.value) == (
        "column 'date': missing column; the table has ['customer_id', 'day']"
    )


def _model_error() -> DataError:
    """A DataError as the models raise it on a summary they cannot use (a real one)."""
    summary = pd.DataFrame(
        {"frequency": [1.0, -1.0, 2.0], "recency": [3.0, 0.0, 4.0], "T": [5.0, 5.0, 6.0]}
    )
    with pytest.raises(DataError) as raised:
        BetaGeoModel().fit(summary)
    return raised.value


def test_an_error_from_inside_the_models_says_where_analyze_stopped_in_one_line() -> None:
    error = _model_error()
    assert error.column == "frequency"  # the translation's trigger: a summary column

    seen = in_analyze_terms(error, "fitting the models and scoring")

    assert f"error [{seen.code}]: {seen}" == (
        "error [data_error]: retain analyze stopped while fitting the models and scoring: "
        "1 customer(s) have a frequency the models cannot use (must be >= 0); your file "
        "passed the orders checks, so this is retain's fault: please report it with the "
        "output of --debug"
    )


def test_an_error_about_the_users_file_reaches_them_as_it_is() -> None:
    error = DataError("not a date or timestamp", column="ordered_at", bad_rows=2, example={})
    assert in_analyze_terms(error, "checking the orders") is error


def test_a_bad_option_on_the_command_line_is_named_as_the_user_typed_it(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,order_id,ordered_at,amount\n1,o1,2024-01-03,10\n")
    command = ["rfm", str(orders), "--observation-end", "2024-01-31"]
    assert main([*command, "--timezone", "Mars/Olympus"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error [data_error]: --timezone: unknown time zone 'Mars/Olympus'; use a name such as "
        "Europe/Berlin or UTC"
    ]
