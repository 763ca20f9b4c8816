"""The demo: the statistical core on CDNOW, then the whole analysis of a synthetic shop.

Fits BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma to the CDNOW sample's calibration period
(to 1997-09-30), checks the predicted repeat purchases in the holdout weeks 40-78 against
what happened, then refits on all 78 weeks and ranks customers by 12-month lifetime value.
Then it draws a synthetic business (:func:`retain.datasets.make_business`), analyses it as
``retain analyze`` would and writes the scores and the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from retain.analytics import rfm_summary
from retain.datasets import load_cdnow_transactions, published
from retain.datasets.synthetic import Business
from retain.stats import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"
ANNUAL_DISCOUNT_RATE = 0.10


@dataclass(frozen=True)
class FittedModel:
    reference: published.Published
    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    holdout_prediction: float | None


@dataclass(frozen=True)
class DemoResult:
    n_customers: int
    n_purchases: int
    fitted: list[FittedModel]
    holdout_actual: int
    top_customers: pd.DataFrame


def run_cdnow_demo(top: int = 10) -> DemoResult:
    """Fit every CDNOW model and score the customers; returns plain data for any front end."""
    transactions = load_cdnow_transactions()
    calibration = rfm_summary(
        transactions, observation_end=OBSERVATION_END, calibration_end=CALIBRATION_END
    )
    holdout_weeks = float(calibration.duration_holdout.iloc[0])
    fitted = []
    for model, reference in (
        (BetaGeoModel(), published.BETA_GEO),
        (ParetoNBDModel(), published.PARETO_NBD),
        (ModifiedBetaGeoModel(), published.MODIFIED_BETA_GEO),
    ):
        model.fit(calibration)
        fitted.append(
            FittedModel(
                reference,
                model.params_,
                model.standard_errors_,
                model.log_likelihood_,
                float(model.expected_purchases(calibration, holdout_weeks).sum()),
            )
        )
    repeaters = calibration[calibration.frequency > 0]
    spend = GammaGammaModel().fit(repeaters)
    fitted.append(
        FittedModel(
            published.GAMMA_GAMMA,
            spend.params_,
            spend.standard_errors_,
            spend.log_likelihood_,
            None,
        )
    )
    return DemoResult(
        n_customers=len(calibration),
        n_purchases=len(transactions),
        fitted=fitted,
        holdout_actual=int(calibration.frequency_holdout.sum()),
        top_customers=most_valuable_customers(transactions, top=top),
    )


def most_valuable_customers(transactions: pd.DataFrame, *, top: int) -> pd.DataFrame:
    """Score every customer as of the last day observed and keep the ``top`` by 12-month CLV."""
    summary = rfm_summary(transactions, observation_end=OBSERVATION_END)
    buying = BetaGeoModel().fit(summary)
    spend = GammaGammaModel().fit(summary[summary.frequency > 0])
    scores = summary[["customer_id", "frequency", "recency", "T", "monetary_value"]].copy()
    scores["p_alive"] = buying.probability_alive(summary)
    scores["expected_purchases_52w"] = buying.expected_purchases(summary, 52.0)
    scores["clv_12m"] = customer_lifetime_value(
        buying,
        spend,
        summary,
        horizon_months=12,
        time_unit="W",
        annual_discount_rate=ANNUAL_DISCOUNT_RATE,
    )
    return scores.sort_values("clv_12m", ascending=False).head(top).reset_index(drop=True)


def _table(header: list[str], rows: list[list[str]]) -> Iterator[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    yield "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    for row in rows:
        yield "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )


def render_cdnow_demo(result: DemoResult) -> Iterator[str]:
    """The demo as lines of text for a terminal."""
    yield (
        f"CDNOW sample: {result.n_customers:,} customers, {result.n_purchases:,} purchase "
        f"records (Fader, Hardie & Lee 2005). Calibration to {CALIBRATION_END}, "
        f"holdout to {OBSERVATION_END}; time in weeks."
    )
    yield ""
    yield "Estimates beside the published ones"
    rows = []
    for fit in result.fitted:
        for name, value in fit.params.items():
            rows.append(
                [
                    fit.reference.model,
                    name,
                    f"{value:.4f}",
                    f"{fit.standard_errors[name]:.4f}",
                    f"{fit.reference.params[name]:.4f}",
                ]
            )
        want = fit.reference.log_likelihood
        rows.append(
            [
                fit.reference.model,
                "log-lik",
                f"{fit.log_likelihood:.2f}",
                "",
                "" if want is None else f"{want:.2f}",
            ]
        )
    yield from _table(["model", "param", "retain", "std err", "published"], rows)
    yield ""
    yield f"Holdout check: repeat purchases in weeks 40-78 (actual {result.holdout_actual:,})"
    rows = [
        [
            fit.reference.model,
            f"{fit.holdout_prediction:,.0f}",
            f"{fit.holdout_prediction / result.holdout_actual - 1:+.1%}",
        ]
        for fit in result.fitted
        if fit.holdout_prediction is not None
    ]
    yield from _table(["model", "predicted", "vs actual"], rows)
    yield ""
    yield (
        f"The {len(result.top_customers)} most valuable customers on {OBSERVATION_END} "
        f"(BG/NBD + Gamma-Gamma, 12-month CLV at {ANNUAL_DISCOUNT_RATE:.0%} a year)"
    )
    rows = [
        [
            str(row.customer_id),
            f"{row.frequency:.0f}",
            f"{row.monetary_value:,.2f}",
            f"{row.p_alive:.2f}",
            f"{row.expected_purchases_52w:.2f}",
            f"${row.clv_12m:,.2f}",
        ]
        for row in result.top_customers.itertuples()
    ]
    yield from _table(
        ["customer", "repeats", "avg spend", "P(alive)", "purchases 52w", "CLV 12m"], rows
    )


def run_business_demo(out: Path, business: Business) -> Iterator[str]:
    """Analyse a synthetic shop, write scores and report to ``out``; lines to show."""
    from retain.report import analyze, write_outputs

    analysis = analyze(
        business.orders, customers=business.customers, subscriptions=business.subscriptions
    )
    write_outputs(analysis, out)
    yield (
        f"A synthetic shop: {analysis.n_customers:,} customers, {analysis.n_orders:,} orders "
        f"({business.start.date()} to {business.end.date()}), scored with "
        f"{analysis.model.model} (chosen on held-out orders)."
    )
    segments = analysis.segments.set_index("segment")
    yield (
        f"Champions: {segments.loc['champions', 'customer_share']:.0%} of customers, "
        f"{segments.loc['champions', 'revenue_share']:.0%} of revenue; "
        f"{len(analysis.big_spenders):,} big spenders slipping away."
    )
    if analysis.channels is not None and len(analysis.channels):
        best = analysis.channels.iloc[0]
        yield f"Best acquisition channel by 12-month CLV: {best.channel} ({best.clv_12m:,.2f})."
    yield f"Report: {(out / 'report.html').resolve()}"
    yield f"Scores: {(out / 'scores.parquet').resolve()} (and scores.csv)"
