"""Vega-Lite specs for the console's charts, built with Altair; the page draws them with the
vendored vega-embed (no network, no eval: the CSP-safe expression interpreter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, label_title: str, value_title: str
) -> dict[str, Any]:
    """A horizontal bar chart, one bar per label in the given order."""
    rows = [{"label": label, "value": value} for label, value in zip(labels, values, strict=True)]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(color="#1f6feb")
        .encode(
            y=alt.Y("label:N", sort=list(labels), title=label_title),
            x=alt.X("value:Q", title=value_title, axis=alt.Axis(tickMinStep=1)),
            tooltip=[
                alt.Tooltip("label:N", title=label_title),
                alt.Tooltip("value:Q", title=value_title, format=","),
            ],
        )
        .properties(width="container", height=max(60, 24 * len(rows)))
    )
    # Validated against the Vega-Lite schema by the tests, not on every page view (1-2 s).
    return chart.to_dict(validate=False)
