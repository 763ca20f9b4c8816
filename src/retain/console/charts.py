"""Vega-Lite specs for the console's charts, built with Altair; the page draws them with the
vendored vega-embed (no network, no eval: the CSP-safe expression interpreter)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import lru_cache
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


def stacked_bar_chart(
    rows: Sequence[tuple[str, str, float]],
    *,
    bars: Sequence[str],
    parts: Sequence[str],
    bar_title: str,
    part_title: str,
    value_title: str,
) -> dict[str, Any]:
    """Vertical bars, one per label of ``bars`` in that order, each stacked from its parts:
    ``rows`` are ``(bar, part, value)``; ``parts`` gives the parts' order (bottom first, and
    the legend's) and their colours."""
    rank = {part: index for index, part in enumerate(parts)}
    spec = copy.deepcopy(_stacked_spec(bar_title, part_title, value_title))
    spec["encoding"]["x"]["sort"] = list(bars)
    spec["encoding"]["color"]["sort"] = list(parts)
    spec["data"] = {
        "values": [
            {"bar": bar, "part": part, "value": value, "rank": rank[part]}
            for bar, part, value in rows
        ]
    }
    return spec


@lru_cache(maxsize=32)
def _stacked_spec(bar_title: str, part_title: str, value_title: str) -> dict[str, Any]:
    """The stacked chart without its rows and orders, built once per language: building it
    with Altair costs more than the rest of a page (tens of ms)."""
    chart = (
        alt.Chart(alt.Data(values=[]))
        .mark_bar()
        .encode(
            x=alt.X("bar:N", title=bar_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(value):Q", title=value_title, axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "part:N",
                title=part_title,
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=320),
            ),
            order=alt.Order("rank:Q"),
            tooltip=[
                alt.Tooltip("bar:N", title=bar_title),
                alt.Tooltip("part:N", title=part_title),
                alt.Tooltip("value:Q", title=value_title, format=","),
            ],
        )
        .properties(width="container", height=260)
    )
    # Validated against the Vega-Lite schema by the tests, not here.
    return chart.to_dict(validate=False)
