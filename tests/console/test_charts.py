"""The console's chart builders: valid Vega-Lite, in the order given."""

from __future__ import annotations

import altair as alt

from retain.console.charts import stacked_bar_chart


def _chart(bars: list[str], parts: list[str]) -> dict:
    pairs = zip(bars, parts, strict=True)
    rows = [(bar, part, 1 + index) for index, (bar, part) in enumerate(pairs)]
    return stacked_bar_chart(
        rows, bars=bars, parts=parts, bar_title="Day", part_title="Move", value_title="Customers"
    )


def test_a_stacked_bar_chart_is_valid_vega_lite_in_the_orders_given() -> None:
    spec = _chart(["Jan. 2", "Jan. 1"], ["b → c", "a → b"])
    alt.Chart.from_dict(spec)  # validates against the Vega-Lite schema; raises when invalid
    assert spec["encoding"]["x"]["sort"] == ["Jan. 2", "Jan. 1"]
    assert spec["encoding"]["color"]["sort"] == ["b → c", "a → b"]
    assert [row["rank"] for row in spec["data"]["values"]] == [0, 1]  # stacked bottom first


def test_each_stacked_chart_is_its_own_copy() -> None:
    first = _chart(["Jan. 1"], ["a → b"])
    second = _chart(["Feb. 1", "Feb. 2"], ["c → d", "d → e"])
    assert first["encoding"]["x"]["sort"] == ["Jan. 1"]
    assert [row["bar"] for row in first["data"]["values"]] == ["Jan. 1"]
    assert second["encoding"]["x"]["sort"] == ["Feb. 1", "Feb. 2"]
