"""The command line: the demo's content, and errors as one clear line."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from retain.cli import main
from retain.datasets import published


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory) -> str:
    """`retain demo` run once, through the installed console script, as a user would."""
    script = shutil.which("retain", path=str(Path(sys.executable).parent))
    assert script is not None, "the retain console script is not installed in this venv"
    out = tmp_path_factory.mktemp("demo")
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["RETAIN_HOME"] = str(out / "home")  # the embedded store, empty at first
    done = subprocess.run(
        [script, "demo", "--out", str(out)],
        capture_output=True, text=True, timeout=600, env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def test_demo_shows_each_model_beside_its_published_estimates(demo_output) -> None:
    for reference in (
        published.BETA_GEO,
        published.PARETO_NBD,
        published.MODIFIED_BETA_GEO,
        published.GAMMA_GAMMA,
    ):
        rows = [line for line in demo_output.splitlines() if line.startswith(reference.model)]
        for name, value in reference.params.items():
            row = next(r for r in rows if r.split()[len(reference.model.split())] == name)
            assert f"{value:.4f}" in row


def test_demo_reproduces_the_published_bg_nbd_log_likelihood(demo_output) -> None:
    row = next(
        line
        for line in demo_output.splitlines()
        if line.startswith(published.BETA_GEO.model) and "log-lik" in line
    )
    retain_value, published_value = row.split()[-2:]
    assert retain_value == published_value == "-9582.43"


def test_demo_shows_the_holdout_check_against_actual_purchases(demo_output) -> None:
    assert "actual 1,882" in demo_output
    section = demo_output.split("Holdout check")[1].split("\n\n")[0]
    predictions = [line for line in section.splitlines()[2:] if line.strip()]
    assert len(predictions) == 3
    for line in predictions:
        predicted = float(line.split()[-2].replace(",", ""))
        assert 1500 < predicted < 1900


def test_demo_lists_ten_customers_with_p_alive_and_clv(demo_output) -> None:
    section = demo_output.split("most valuable customers")[1].split("\n\n")[0]
    lines = section.strip().splitlines()
    assert "P(alive)" in lines[1] and "CLV 12m" in lines[1]
    customers = lines[2:]
    assert len(customers) == 10
    values = [float(line.split()[-1].lstrip("$").replace(",", "")) for line in customers]
    assert values == sorted(values, reverse=True)
    assert all(0 <= float(line.split()[3]) <= 1 for line in customers)


def test_demo_analyses_a_synthetic_shop_and_writes_its_report(demo_output) -> None:
    shop = demo_output.split("A synthetic shop:")[1]
    counted = re.match(r" ([\d,]+) customers, ([\d,]+) orders \(", shop)
    assert counted is not None, shop
    customers, orders = (int(number.replace(",", "")) for number in counted.groups())
    assert 0 < customers < orders
    assert re.search(r"^Champions: \d+% of customers, \d+% of revenue; ", shop, re.MULTILINE)
    report = Path(next(line for line in shop.splitlines() if line.startswith("Report: "))[8:])
    assert report.exists() and report.read_text().startswith("<!doctype html>")
    assert len(pd.read_parquet(report.parent / "scores.parquet")) == customers


def test_demo_loads_the_shop_into_the_store_through_its_doors_and_scores_it(
    demo_output, tmp_path_factory
) -> None:
    assert "imported customers: 10,000 rows, 10,000 created" in demo_output
    assert "through /v1/batch" in demo_output
    assert "customer 360: http://127.0.0.1:8000/customers/" in demo_output
    assert "sign in at http://127.0.0.1:8000/\n" in demo_output
    store = next(Path(tmp_path_factory.getbasetemp()).glob("demo*/home/retain.sqlite3"))
    with sqlite3.connect(store) as database:
        customers = database.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
        scored = database.execute("SELECT count(*) FROM customers_score").fetchone()[0]
        viewed = database.execute(
            "SELECT count(*) FROM customers_event WHERE name = 'Product Viewed'"
        ).fetchone()[0]
    assert customers == 10_000 and 9_000 < scored <= customers and viewed == 200


def test_missing_file_is_one_line_and_exit_code_2(tmp_path, capsys) -> None:
    code = main(["rfm", str(tmp_path / "nope.csv"), "--observation-end", "2024-01-01"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error [data_error]: ")
    assert f"{tmp_path / 'nope.csv'}: no such file" in err


def test_bad_column_is_named_in_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "orders.csv"
    # The bad value does not contain the column's name, so naming the column is checked.
    path.write_text("customer_id,date,amount\n1,2024-01-03,10\n2,yesterday,5\n")
    code = main(["rfm", str(path), "--ordered-at", "date", "--observation-end", "2024-01-31"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error [data_error]: column 'date' (ordered_at): not a date")
    assert "1 bad row" in err and "yesterday" in err


def test_console_script_prints_no_traceback_on_error(tmp_path) -> None:
    script = shutil.which("retain", path=str(Path(sys.executable).parent))
    done = subprocess.run(
        [script, "rfm", str(tmp_path / "nope.csv"), "--observation-end", "2024-01-01"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_rfm_writes_the_summary(tmp_path, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,ordered_at,amount\n1,2024-01-03,10\n1,2024-01-17,30\n2,2024-01-10,5\n"
    )
    out = tmp_path / "summary.csv"
    assert main(["rfm", str(orders), "--observation-end", "2024-01-31", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split(",")[:4] == ["customer_id", "frequency", "recency", "T"]
    assert len(lines) == 3


def test_a_bad_day_for_rescore_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["rescore", "--as-of", "2024-13-01"])
    assert stopped.value.code == 2
    assert "'2024-13-01' is not a day (YYYY-MM-DD)" in capsys.readouterr().err
