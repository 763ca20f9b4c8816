"""The journey page's charts as Vega-Lite specs, built with Altair (the console draws them):
the treatment against the holdout, conversion rate with each group's 95 % interval and
revenue per enrolled customer."""

from __future__ import annotations

import copy
import math
from functools import lru_cache
from typing import Any

import altair as alt
from django.conf import settings
from django.utils.translation import gettext as _

from retain.journeys.report import JourneyReport
from retain.journeys.uplift import wilson

TREATMENT_COLOUR = "#1f6feb"
HOLDOUT_COLOUR = "#6e7781"


def holdout_charts(report: JourneyReport) -> dict[str, dict[str, Any]]:
    """``conversion`` and ``revenue`` specs; empty when nobody entered the journey."""
    groups = [(_("Treatment"), report.treatment), (_("Holdout"), report.holdout)]
    if not any(figures.enrolled for _name, figures in groups):
        return {}
    conversion_rows = []
    revenue_rows = []
    for name, figures in groups:
        if not figures.enrolled:
            continue
        interval = wilson(figures.converted, figures.enrolled)
        conversion_rows.append({
            "group": name, "rate": _plain(interval.estimate), "low": _plain(interval.low),
            "high": _plain(interval.high), "customers": figures.enrolled,
            "converted": figures.converted,
        })  # fmt: skip
        revenue_rows.append({
            "group": name, "revenue": round(figures.revenue_per_customer or 0.0, 2),
            "customers": figures.enrolled,
        })  # fmt: skip
    names = [name for name, _figures in groups]
    conversion = copy.deepcopy(
        _conversion_spec(tuple(names), _("Group"), _("Conversion rate"), _("95 %% interval") % {},
                         _("Customers"), _("Converted"))
    )  # fmt: skip
    conversion["data"] = {"values": conversion_rows}
    currency = settings.RETAIN_CURRENCY
    revenue = copy.deepcopy(
        _revenue_spec(tuple(names), _("Group"),
                      _("Revenue per customer (%(currency)s)") % {"currency": currency},
                      _("Customers"))
    )  # fmt: skip
    revenue["data"] = {"values": revenue_rows}
    return {"conversion": conversion, "revenue": revenue}


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def _colour(names: tuple[str, ...]) -> alt.Color:
    return alt.Color(
        "group:N",
        scale=alt.Scale(domain=list(names), range=[TREATMENT_COLOUR, HOLDOUT_COLOUR]),
        legend=None,
    )


@lru_cache(maxsize=32)
def _conversion_spec(
    names: tuple[str, ...], group: str, rate: str, interval: str, customers: str, converted: str
) -> dict[str, Any]:
    """The conversion chart without its rows, built once per language (building with Altair
    costs tens of milliseconds; the tests validate the spec)."""
    base = alt.Chart(alt.Data(values=[])).encode(
        x=alt.X("group:N", title=group, sort=list(names), axis=alt.Axis(labelAngle=0))
    )
    tooltip = [
        alt.Tooltip("group:N", title=group),
        alt.Tooltip("rate:Q", title=rate, format=".1%"),
        alt.Tooltip("low:Q", title=f"{interval} ↓", format=".1%"),
        alt.Tooltip("high:Q", title=f"{interval} ↑", format=".1%"),
        alt.Tooltip("customers:Q", title=customers, format=","),
        alt.Tooltip("converted:Q", title=converted, format=","),
    ]
    bars = base.mark_bar(width={"band": 0.6}).encode(
        y=alt.Y("rate:Q", title=rate, axis=alt.Axis(format="%")),
        color=_colour(names),
        tooltip=tooltip,
    )
    whiskers = base.mark_rule(color="#24292f", strokeWidth=2).encode(
        y=alt.Y("low:Q"), y2=alt.Y2("high:Q"), tooltip=tooltip
    )
    caps = [
        base.mark_tick(color="#24292f", thickness=2, size=18).encode(y=alt.Y(f"{end}:Q"))
        for end in ("low", "high")
    ]
    chart = alt.layer(bars, whiskers, *caps).properties(width="container", height=220)
    return chart.to_dict(validate=False)


@lru_cache(maxsize=32)
def _revenue_spec(
    names: tuple[str, ...], group: str, revenue: str, customers: str
) -> dict[str, Any]:
    chart = (
        alt.Chart(alt.Data(values=[]))
        .mark_bar(width={"band": 0.6})
        .encode(
            x=alt.X("group:N", title=group, sort=list(names), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("revenue:Q", title=revenue, axis=alt.Axis(format=",.2f")),
            color=_colour(names),
            tooltip=[
                alt.Tooltip("group:N", title=group),
                alt.Tooltip("revenue:Q", title=revenue, format=",.2f"),
                alt.Tooltip("customers:Q", title=customers, format=","),
            ],
        )
        .properties(width="container", height=220)
    )
    return chart.to_dict(validate=False)
