"""The customers' charts as Vega-Lite specs, built with Altair (the console draws them)."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import altair as alt
from django.utils.translation import gettext as _

from retain.customers.alive_history import AliveHistory


def alive_chart(history: AliveHistory) -> dict[str, Any]:
    """P(alive) over the customer's history as a line, each order day a dot on it."""
    spec = copy.deepcopy(_alive_spec(_("Day"), _("P(alive)")))
    spec["data"] = {
        "values": [
            {"day": point.day.isoformat(), "p_alive": round(point.p_alive, 4),
             "ordered": point.ordered}
            for point in history.points
        ]
    }  # fmt: skip
    return spec


@lru_cache(maxsize=32)
def _alive_spec(title_day: str, title_alive: str) -> dict[str, Any]:
    """The chart without its rows, validated by Altair once per language: validating takes
    about half a second (a few seconds with the rows in), too long for every page view."""
    base = alt.Chart(alt.Data(name="alive")).encode(
        x=alt.X("day:T", title=title_day),
        y=alt.Y(
            "p_alive:Q",
            title=title_alive,
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        tooltip=[
            alt.Tooltip("day:T", title=title_day),
            alt.Tooltip("p_alive:Q", title=title_alive, format=".0%"),
        ],
    )
    line = base.mark_line(color="#1f6feb", interpolate="linear")
    orders = base.transform_filter(alt.datum.ordered).mark_point(
        color="#0a3069", filled=True, size=18
    )
    return (line + orders).properties(width="container", height=220).to_dict()
