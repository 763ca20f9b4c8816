"""The report a manager reads: one self-contained HTML file, every chart with a one-line reading.

Nothing is fetched: styles are inline, charts are SVG (:mod:`retain.report.charts`), there is
no script. The page opens from a file, an e-mail attachment or an air-gapped laptop alike.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from retain.analytics import SEGMENTS, STAGES
from retain.report.analysis import Analysis
from retain.report.charts import bars, heatmap, histogram

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#111;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.reading{font-size:1.05rem;margin:.4rem 0 .8rem}.muted{color:#555}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.25rem .6rem;text-align:right}
th{border-bottom:1px solid #999}td:first-child,th:first-child{text-align:left}
.chart{display:block;margin:.5rem 0}
"""

_MAX_COHORTS = 24
_MAX_PERIODS = 13


def _section(title: str, reading: str, body: str, anchor: str) -> str:
    return (
        f'<section id="{anchor}"><h2>{escape(title)}</h2>'
        f'<p class="reading">{escape(reading)}</p>{body}</section>'
    )


def _table(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                text = ""
            elif column in formats:
                text = formats[column].format(value)
            else:
                text = str(value)
            cells.append(f"<td>{escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cohorts(analysis: Analysis) -> str:
    cohorts = analysis.cohorts
    recent = sorted(cohorts.cohort.unique())[-_MAX_COHORTS:]
    shown = cohorts[cohorts.cohort.isin(recent) & (cohorts.period_number < _MAX_PERIODS)]
    grid = shown.pivot(index="cohort", columns="period_number", values="retention")
    values = [[None if pd.isna(v) else float(v) for v in row] for row in grid.to_numpy()]
    later = [v for row in values for v in row[1:] if v is not None]
    chart = heatmap(
        [str(c)[:7] for c in grid.index],
        [str(c) for c in grid.columns],
        values,
        label="Cohort retention by months since the first order",
        scale_max=max(later, default=1.0) or 1.0,  # month 0 is always 100%: shade the rest
    )
    second = cohorts[cohorts.period_number == 1]
    share = float((second.active_customers.sum() / second.cohort_size.sum()) if len(second) else 0)
    reading = (
        f"On average {share:.0%} of a month's new customers order again the month after; "
        "each row is a cohort, each column a month since its first order."
    )
    return _section("Cohort retention", reading, chart, "cohorts")


def _lifecycle(analysis: Analysis) -> str:
    counts = analysis.lifecycle.stage.value_counts()
    values = [int(counts.get(stage, 0)) for stage in STAGES]
    chart = bars(list(STAGES), values, label="Customers per lifecycle stage")
    moves = analysis.transitions
    slipping = int(moves[moves.to_stage.isin(["at risk", "dormant", "churned"])].customers.sum())
    was_active = moves.from_stage.isin(["new", "active", "returning", "reactivated"])
    lost_now = int(moves[was_active & moves.to_stage.isin(["dormant", "churned"])].customers.sum())
    total = max(sum(values), 1)
    reading = (
        f"{slipping / total:.0%} of customers are at risk, dormant or churned; in the last six "
        f"months {lost_now:,} customers went from buying to dormant or churned."
    )
    flow = moves.pivot_table(
        index="from_stage", columns="to_stage", values="customers", aggfunc="sum", fill_value=0
    )
    order_from = [s for s in ("not yet a customer", *STAGES) if s in flow.index]
    order_to = [s for s in STAGES if s in flow.columns]
    flow = flow.loc[order_from, order_to]
    top = max(float(flow.to_numpy().max()), 1.0)
    flow_chart = heatmap(
        list(flow.index),
        list(flow.columns),
        [[float(v) / top for v in row] for row in flow.to_numpy()],
        label="Lifecycle flow over the last six months (rows: then, columns: now)",
        fmt="{:.0%}",
        cell=66,  # wide enough for "reactivated" over its column
    )
    note = '<p class="muted">Flow: share of the largest movement, rows then, columns now.</p>'
    return _section("Lifecycle", reading, chart + note + flow_chart, "lifecycle")


def _rfm(analysis: Analysis) -> str:
    # Counted per score first: 125 distinct scores, however many customers.
    per_score = analysis.scores.rfm_score.value_counts()
    r = per_score.index.str[0].astype(int)
    f = per_score.index.str[1].astype(int)
    grid = (
        pd.crosstab(r, f, values=per_score.to_numpy(), aggfunc="sum")
        .reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])
        .fillna(0)
        .astype(int)
    )
    total = max(int(grid.to_numpy().sum()), 1)
    chart = heatmap(
        [f"R{v}" for v in grid.index],
        [f"F{v}" for v in grid.columns],
        [[v / total for v in row] for row in grid.to_numpy()],
        label="Customers by recency and frequency score",
        fmt="{:.1%}",
        cell=40,
    )
    segments = analysis.segments
    champions = segments[segments.segment == "champions"].iloc[0]
    reading = (
        f"Champions are {champions.customer_share:.0%} of customers and bring "
        f"{champions.revenue_share:.0%} of revenue."
    )
    table = _table(
        segments.set_index("segment").loc[list(SEGMENTS)].reset_index(),
        {"customer_share": "{:.1%}", "revenue": "{:,.0f}", "revenue_share": "{:.1%}"},
    )
    return _section("RFM segments", reading, chart + table, "rfm")


def _clv(analysis: Analysis) -> str:
    values = analysis.scores.clv_12m.to_numpy(dtype=float)
    cap = float(np.quantile(values, 0.99)) if len(values) else 1.0
    counts, edges = np.histogram(np.minimum(values, cap), bins=30, range=(0.0, max(cap, 1.0)))
    chart = histogram(edges.tolist(), counts.tolist(), label="Customers by 12-month CLV")
    top = np.sort(values)[::-1][: max(len(values) // 10, 1)].sum() / max(values.sum(), 1e-9)
    model = analysis.model
    reading = (
        f"The most valuable tenth of customers holds {top:.0%} of the next year's expected value "
        f"(model: {model.model}, chosen on held-out orders; the top 1% are drawn at the cap)."
    )
    choice = _table(
        model.model_choice[["model", "mean_absolute_error", "predicted_purchases"]],
        {"mean_absolute_error": "{:.4f}", "predicted_purchases": "{:,.0f}"},
    )
    return _section("Customer lifetime value", reading, chart + choice, "clv")


def _channels(analysis: Analysis) -> str:
    channels = analysis.channels
    if channels is None or channels.empty:
        return _section(
            "Acquisition channels",
            "No channel information in the orders or customers.",
            "",
            "channels",
        )
    best = channels.iloc[0]
    reading = (
        f"{best.channel} brings the most valuable customers: {best.clv_12m:,.2f} expected in "
        f"the next year (95% interval {best.clv_12m_low:,.2f} to {best.clv_12m_high:,.2f})."
    )
    table = _table(
        channels,
        {
            "retention_12m": "{:.1%}",
            "retention_12m_low": "{:.1%}",
            "retention_12m_high": "{:.1%}",
            "clv_12m": "{:,.2f}",
            "clv_12m_low": "{:,.2f}",
            "clv_12m_high": "{:,.2f}",
        },
    )
    return _section("Acquisition channels", reading, table, "channels")


def _big_spenders(analysis: Analysis) -> str:
    big = analysis.big_spenders
    reading = (
        f"{len(big):,} of the top tenth by spend are slipping away, "
        f"{big.value_at_risk.sum():,.0f} a year at risk; the first 25 by value at risk:"
    )
    table = _table(
        big.head(25),
        {
            "total_spend": "{:,.2f}",
            "usual_gap_days": "{:.0f}",
            "last_gap_days": "{:.0f}",
            "p_alive": "{:.2f}",
            "value_at_risk": "{:,.2f}",
        },
    )
    return _section("Big spenders at risk", reading, table, "big-spenders")


def _subscriptions(analysis: Analysis) -> str:
    churn = analysis.subscriptions
    if churn is None or churn.empty:
        return ""
    recent = churn.tail(12)
    reading = (
        f"Over the last {len(recent)} months net revenue retention averaged "
        f"{recent.net_revenue_retention.mean():.0%} and customer churn "
        f"{recent.customer_churn.mean():.1%} a month."
    )
    chart = bars(
        [str(m)[:7] for m in recent.month],
        recent.net_revenue_retention.fillna(0).tolist(),
        label="Net revenue retention per month",
        fmt="{:.0%}",
    )
    return _section("Subscriptions", reading, chart, "subscriptions")


def render_report(analysis: Analysis) -> str:
    """The report as one HTML document."""
    sections = [
        _cohorts(analysis),
        _lifecycle(analysis),
        _rfm(analysis),
        _clv(analysis),
        _channels(analysis),
        _big_spenders(analysis),
        _subscriptions(analysis),
    ]
    summary = (
        f"{analysis.n_customers:,} customers, {analysis.n_orders:,} counted orders from "
        f"{analysis.first_order} to {analysis.observation_end}."
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>retain report {analysis.observation_end}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Who your customers are and what they are worth</h1>"
        f'<p class="muted">{escape(summary)}</p>{"".join(sections)}</body></html>'
    )
