"""`retain analyze` applies the orders rule of every analysis and says what it left out: in
the terminal and in the report's opening line."""

from __future__ import annotations

from pathlib import Path

from retain.cli import main
from retain.report import analyze, render_report

HEADER = "customer_id,order_id,ordered_at,amount,status\n"


def shop_export(path: Path) -> Path:
    """Four customers; one refunded order, one cancelled (spaces and capitals as exported),
    one pending and one placed after the day of the analysis."""
    path.write_text(
        HEADER
        + "c1,o1,2024-01-03,10,completed\n"
        + "c1,o2,2024-02-03,30,Refunded\n"
        + "c2,o3,2024-01-10,5, CANCELLED \n"
        + "c2,o4,2024-03-11,5,completed\n"
        + "c3,o5,2024-02-10,8,pending\n"
        + "c3,o6,2024-02-12,8,completed\n"
        + "c4,o7,2024-05-12,8,completed\n"
        + "c4,o8,2024-03-12,9,completed\n"
    )
    return path


def test_analyze_says_how_many_orders_it_left_out_and_why(tmp_path, capsys) -> None:
    orders = shop_export(tmp_path / "orders.csv")
    code = main(
        ["analyze", str(orders), "--observation-end", "2024-04-30", "--out", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    expected = (
        "left out 4 orders of 8: 1 after the observation end, 1 cancelled, 1 pending, 1 refunded"
    )
    assert expected in err.splitlines()
    report = (tmp_path / "r" / "report.html").read_text()
    assert f"The analyses {expected}." in report


def test_the_left_out_orders_are_not_counted_anywhere(tmp_path) -> None:
    from retain.io import read_file

    analysis = analyze(read_file(shop_export(tmp_path / "o.csv"), kind="orders"))
    # Without an observation end the day is the last counted order's: nothing is after it.
    assert analysis.left_out.reasons == {"cancelled": 1, "pending": 1, "refunded": 1}
    assert analysis.n_orders == 5
    assert sorted(analysis.scores.customer_id) == ["c1", "c2", "c3", "c4"]
    assert "5 counted orders" in render_report(analysis)
