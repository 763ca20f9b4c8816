"""The report a manager reads: one self-contained HTML file, every chart with a one-line reading.

Nothing is fetched: styles are inline, charts are SVG (:mod:`retain.report.charts`), there is
no script. The page opens from a file, an e-mail attachment or an air-gapped laptop alike.
Each section has a reading (what the numbers say), a "what to do" line and, where there are
customers to act on, a link to their list (:mod:`retain.report.downloads`). Amounts carry the
orders' currency symbol; column names are words; every chart names its axes and units.
Every score not given by the fitted models is listed at the top (``Analysis.notes``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

import numpy as np
import pandas as pd

from retain.analytics import SEGMENTS, STAGES
from retain.report.analysis import Analysis
from retain.report.charts import bars, heatmap, histogram
from retain.report.downloads import CustomerList, win_back_segments
from retain.report.labels import Money, label

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#111;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.reading{font-size:1.05rem;margin:.4rem 0 .8rem}.muted{color:#555}
.todo{background:#f0fdf4;border-left:4px solid #16a34a;padding:.4rem .7rem;margin:.8rem 0}
.notes{background:#fffbeb;border-left:4px solid #d97706;padding:.4rem .7rem;margin:1rem 0}
.notes ul{margin:.3rem 0;padding-left:1.2rem}
.table-wrap{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;font-size:.9rem;max-width:100%}
td,th{padding:.25rem .6rem;text-align:right;vertical-align:top}
th{border-bottom:1px solid #999;font-weight:600}td:first-child,th:first-child{text-align:left}
.text{text-align:left}td.text{overflow-wrap:anywhere}
.chart{display:block;margin:.5rem 0;max-width:100%;height:auto}
"""

_MAX_COHORTS = 24
_MAX_PERIODS = 13
_TOP_BIG_SPENDERS = 25
Formatter = Callable[[object], str]


def _section(
    title: str,
    reading: str,
    body: str,
    anchor: str,
    *,
    todo: str,
    download: CustomerList | None = None,
) -> str:
    action = f"<strong>What to do:</strong> {escape(todo)}"
    if download is not None and download.customers.empty:
        action += f" (Nobody is on the list of {escape(download.title)} today.)"
    elif download is not None:
        count = len(download.customers)
        action += (
            f' <a class="download" href="{escape(download.filename)}" download>'
            f"Download the {count:,} {escape(download.title)} (CSV)</a>"
        )
    return (
        f'<section id="{anchor}"><h2>{escape(title)}</h2>'
        f'<p class="reading">{escape(reading)}</p>{body}'
        f'<p class="todo">{action}</p></section>'
    )


def _table(frame: pd.DataFrame, formats: dict[str, Formatter], text: Sequence[str] = ()) -> str:
    """A table with column names in words; ``formats`` turn values into text, ``text``
    columns are left-aligned and may wrap."""
    aligned = {c: ' class="text"' if c in text else "" for c in frame.columns}
    head = "".join(f"<th{aligned[c]}>{escape(label(str(c)))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                shown = ""
            elif column in formats:
                shown = formats[column](value)
            else:
                shown = str(value)
            cells.append(f"<td{aligned[column]}>{escape(shown)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _share(decimals: int = 0) -> Formatter:
    return lambda value: f"{float(value):.{decimals}%}"


def _number(decimals: int = 0) -> Formatter:
    return lambda value: f"{float(value):,.{decimals}f}"


def _cohorts(analysis: Analysis) -> str:
    cohorts = analysis.cohorts
    every = sorted(cohorts.cohort.unique())
    recent = every[-_MAX_COHORTS:]
    shown = cohorts[cohorts.cohort.isin(recent) & (cohorts.period_number < _MAX_PERIODS)]
    grid = shown.pivot(index="cohort", columns="period_number", values="retention")
    values = [[None if pd.isna(v) else float(v) for v in row] for row in grid.to_numpy()]
    later = [v for row in values for v in row[1:] if v is not None]
    chart = heatmap(
        [str(c)[:7] for c in grid.index],
        [str(c) for c in grid.columns],
        values,
        label="Cohort retention by months since the first order",
        x_title="Months since the first order",
        y_title="Cohort (month of first order)",
        scale_max=max(later, default=1.0) or 1.0,  # month 0 is always 100%: shade the rest
    )
    second = cohorts[cohorts.period_number == 1]
    share = float((second.active_customers.sum() / second.cohort_size.sum()) if len(second) else 0)
    reading = (
        f"On average {share:.0%} of a month's new customers order again the month after; "
        "each row is a cohort, each cell the share of it ordering in that month."
    )
    return _section(
        "Cohort retention",
        reading,
        chart + f'<p class="muted cut">{escape(_cohort_cut(every, recent, shown, cohorts))}</p>',
        "cohorts",
        todo=(
            "Compare the month-1 column from row to row: if newer cohorts come back less, work "
            "on the step from the first to the second order (welcome and thank-you messages, "
            "a reason to come back within a month)."
        ),
    )


def _cohort_cut(
    every: Sequence, recent: Sequence, shown: pd.DataFrame, cohorts: pd.DataFrame
) -> str:
    """Where the cohort chart is cut: which cohorts and months it shows, and why rows end."""
    months = _MAX_PERIODS - 1
    parts = [
        f"Showing the cohorts from {str(recent[0])[:7]} to {str(recent[-1])[:7]} and months 0 "
        f"to {int(shown.period_number.max()) if len(shown) else 0} after the first order."
    ]
    if len(every) > len(recent):
        parts.append(f"The {len(every) - len(recent)} earlier cohorts are not shown.")
    observed = int(cohorts.period_number.max()) if len(cohorts) else 0
    if observed > months:
        parts.append(f"Months {months + 1} to {observed} are not shown.")
    reached = shown.groupby("cohort").period_number.max()
    young = reached[reached < months]
    if len(young):
        parts.append(
            f"Cohorts from {str(young.index.min())[:7]} on are too young to show {months} "
            "months: their rows end at the last month observed."
        )
    return " ".join(parts)


def _lifecycle(analysis: Analysis, download: CustomerList | None) -> str:
    counts = analysis.lifecycle.stage.value_counts()
    values = [int(counts.get(stage, 0)) for stage in STAGES]
    chart = bars(
        [stage.capitalize() for stage in STAGES],
        values,
        label="Customers per lifecycle stage",
        x_title="Customers",
        y_title="Lifecycle stage",
    )
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
    top = max(float(flow.to_numpy().max()), 1.0) if flow.size else 1.0
    flow_chart = heatmap(
        [s.capitalize() for s in flow.index],
        [s.capitalize() for s in flow.columns],
        [[float(v) / top for v in row] for row in flow.to_numpy()],
        label="Lifecycle flow over the last six months (rows: then, columns: now)",
        x_title="Stage now",
        y_title="Stage six months ago",
        fmt="{:.0%}",
        cell=66,  # wide enough for "Reactivated" over its column
    )
    note = (
        '<p class="muted">Flow: each cell is its number of customers as a share of the '
        "largest movement; rows are the stage six months ago, columns the stage now.</p>"
    )
    at_risk = int(counts.get("at risk", 0))
    return _section(
        "Lifecycle",
        reading,
        chart + note + flow_chart,
        "lifecycle",
        todo=(
            f"Reach the {at_risk:,} customers at risk before they go dormant: a personal "
            "message or an offer on what they bought before."
        ),
        download=download,
    )


def _rfm(analysis: Analysis, money: Money, download: CustomerList | None) -> str:
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
        x_title="Frequency score (F1 fewest orders, F5 most)",
        y_title="Recency score (R5 most recent)",
        fmt="{:.1%}",
        cell=40,
    )
    segments = analysis.segments.set_index("segment").loc[list(SEGMENTS)].reset_index()
    best = segments.iloc[0]  # SEGMENTS runs from the best customers down
    reading = (
        f"{best.segment.capitalize()} are {best.customer_share:.0%} of customers and bring "
        f"{best.revenue_share:.0%} of revenue."
    )
    table = _table(
        segments.assign(segment=segments.segment.str.capitalize()),
        {
            "customers": _number(),
            "customer_share": _share(1),
            "revenue": money,
            "revenue_share": _share(1),
        },
        text=("segment",),
    )
    slipping = segments[segments.segment.isin(win_back_segments())]
    names = " and ".join(f'"{s}"' for s in slipping.segment) or "the segments at risk"
    return _section(
        "RFM segments",
        reading,
        chart + table,
        "rfm",
        todo=(
            f"Win back the {int(slipping.customers.sum()):,} customers in {names}, who have "
            f"spent {money(float(slipping.revenue.sum()))} so far: they bought often and "
            "have gone quiet."
        ),
        download=download,
    )


def _notes_list(notes: Sequence[str]) -> str:
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return f"<ul>{items}</ul>"


def _clv(analysis: Analysis, money: Money, download: CustomerList | None) -> str:
    model = analysis.model
    if model.model is None:
        reading = f"Not computed: {model.refused}"
        return _section(
            "Customer lifetime value",
            reading,
            "",
            "clv",
            todo=(
                "Analyse again when more customers have ordered twice; meanwhile the cohorts, "
                "RFM segments and lifecycle above need no model."
            ),
        )
    values = analysis.scores.clv_12m.to_numpy(dtype=float)
    cap = float(np.quantile(values, 0.99)) if len(values) else 1.0
    counts, edges = np.histogram(np.minimum(values, cap), bins=30, range=(0.0, max(cap, 1.0)))
    chart = histogram(
        edges.tolist(),
        counts.tolist(),
        label="Customers by 12-month CLV",
        x_title=f"Expected value over the next 12 months{money.unit}",
        y_title="Customers",
        edge_format=money.prefix.replace("{", "{{").replace("}", "}}") + "{:,.0f}",
    )
    top = np.sort(values)[::-1][: max(len(values) // 10, 1)].sum() / max(values.sum(), 1e-9)
    reading = (
        f"The most valuable tenth of customers holds {top:.0%} of the next year's expected value "
        f"(model: {model.model}, chosen on held-out orders; the top 1% are drawn at the cap)."
    )
    choice = _table(
        model.model_choice[["model", "mean_absolute_error", "predicted_purchases"]],
        {"mean_absolute_error": _number(4), "predicted_purchases": _number()},
        text=("model",),
    )
    fallbacks = ""
    if model.fallbacks:
        fallbacks = (
            '<div class="notes"><strong>Not every value comes from the fitted models:</strong>'
            f"{_notes_list([f.message for f in model.fallbacks])}</div>"
        )
    return _section(
        "Customer lifetime value",
        reading,
        chart + choice + fallbacks,
        "clv",
        todo=(
            "Look after the most valuable tenth first: service, early access, a personal "
            "thank-you; they are worth more than any discount campaign."
        ),
        download=download,
    )


def _channels(analysis: Analysis, money: Money) -> str:
    channels = analysis.channels
    if channels is None or channels.empty:
        return _section(
            "Acquisition channels",
            "No channel information in the orders or customers.",
            "",
            "channels",
            todo=(
                "Add the acquisition channel to the customers file (acquisition_channel) or "
                "the orders (channel) to see which channels bring loyal customers."
            ),
        )
    best = channels.iloc[0]
    if channels.clv_12m.isna().all():  # no model: rank by who is still buying a year on
        channels = channels.sort_values("retention_12m", ascending=False, na_position="last")
        best = channels.iloc[0]
        kept = _interval(
            best.retention_12m, best.retention_12m_low, best.retention_12m_high, _share(0)
        )
        reading = (
            f"{best.channel} keeps the most customers a year on: {kept} (no purchase model, "
            "so no expected value per channel)."
        )
    else:
        reading = (
            f"{best.channel} brings the most valuable customers: {money(best.clv_12m, 2)} "
            f"expected in the next year (95% interval {money(best.clv_12m_low, 2)} to "
            f"{money(best.clv_12m_high, 2)})."
        )
    shown = pd.DataFrame(
        {
            "channel": channels.channel.astype(str),
            "customers": channels.customers if "customers" in channels else np.nan,
            "retention_12m": [
                _interval(v, lo, hi, _share(0))
                for v, lo, hi in zip(
                    channels.retention_12m,
                    channels.retention_12m_low,
                    channels.retention_12m_high,
                    strict=True,
                )
            ],
            "clv_12m": [
                _interval(v, lo, hi, lambda x: money(float(x), 2))
                for v, lo, hi in zip(
                    channels.clv_12m, channels.clv_12m_low, channels.clv_12m_high, strict=True
                )
            ],
        }
    )
    if "customers" not in channels:
        shown = shown.drop(columns="customers")
    table = _table(shown, {"customers": _number()}, text=("channel",))
    return _section(
        "Acquisition channels",
        reading,
        table + '<p class="muted">In brackets: the 95% interval.</p>',
        "channels",
        todo=(
            f"Put more of the acquisition budget where customers stay and spend ({best.channel} "
            "first); check the intervals before moving much: wide ones mean few customers."
        ),
    )


def _interval(value: float, low: float, high: float, fmt: Formatter) -> str:
    if pd.isna(value):
        return ""
    if pd.isna(low) or pd.isna(high):
        return fmt(value)
    return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"


def _big_spenders(analysis: Analysis, money: Money, download: CustomerList | None) -> str:
    big = analysis.big_spenders
    at_risk = big.value_at_risk.sum()
    if analysis.model.model is None:
        worth = "no model to put a value at risk on them"
    else:
        worth = f"{money(float(at_risk))} a year at risk"
    shown = min(len(big), _TOP_BIG_SPENDERS)
    reading = f"{len(big):,} of the top tenth by spend are slipping away, {worth}" + (
        f"; the first {shown} by value at risk:" if shown else "."
    )
    columns = [
        "customer_id", "total_spend", "orders", "days_since_last_order", "p_alive", "reasons",
        "value_at_risk",
    ]  # fmt: skip
    table = _table(
        big.head(_TOP_BIG_SPENDERS)[columns],
        {
            "total_spend": lambda v: money(float(v)),
            "orders": _number(),
            "days_since_last_order": _number(),
            "p_alive": _share(0),
            "value_at_risk": lambda v: money(float(v)),
        },
        text=("customer_id", "reasons"),
    )
    return _section(
        "Big spenders at risk",
        reading,
        table if shown else "",
        "big-spenders",
        todo=(
            "Have someone call or write personally to the first names on the list, "
            "highest value at risk first; ask what changed before offering anything."
        ),
        download=download,
    )


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
        x_title="Net revenue retention (% of the month's starting recurring revenue)",
        y_title="Month",
        fmt="{:.0%}",
    )
    return _section(
        "Subscriptions",
        reading,
        chart,
        "subscriptions",
        todo=(
            "Below 100% the base shrinks on its own: find out why subscribers cancel or "
            "downgrade (exit survey) before spending more on acquiring new ones."
        ),
    )


def render_report(analysis: Analysis, lists: Sequence[CustomerList] = ()) -> str:
    """The report as one HTML document; ``lists`` (written beside it by
    :func:`retain.report.write_outputs`) are linked from their sections."""
    money = Money(analysis.currency)
    by_section = {item.section: item for item in lists}
    sections = [
        _cohorts(analysis),
        _lifecycle(analysis, by_section.get("lifecycle")),
        _rfm(analysis, money, by_section.get("rfm")),
        _clv(analysis, money, by_section.get("clv")),
        _channels(analysis, money),
        _big_spenders(analysis, money, by_section.get("big-spenders")),
        _subscriptions(analysis),
    ]
    summary = (
        f"{analysis.n_customers:,} customers, {analysis.n_orders:,} counted orders from "
        f"{analysis.first_order} to {analysis.observation_end}."
    )
    if analysis.currency:
        summary += f" Amounts in {analysis.currency}."
    if analysis.left_out is not None:
        summary += f" The analyses {analysis.left_out.line()}."
    notes = ""
    if analysis.notes:
        notes = (
            '<aside class="notes" id="notes"><strong>How to read the scores:</strong>'
            f"{_notes_list(analysis.notes)}</aside>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>retain report {analysis.observation_end}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Who your customers are and what they are worth</h1>"
        f'<p class="muted">{escape(summary)}</p>{notes}{"".join(sections)}</body></html>'
    )
