"""The customers behind each section a manager acts on, as lists to download beside the report.

Each list is a CSV next to ``report.html``, linked from its section, with column names in words
and text cells neutralised for spreadsheets (:mod:`retain.csv_safety`):

* ``lifecycle-at-risk.csv``: customers at the "at risk" lifecycle stage, biggest spenders first;
* ``rfm-win-back.csv``: customers in the RFM segments that are slipping away (every segment of
  :data:`~retain.analytics.SEGMENTS` whose name speaks of risk or of losing them), biggest
  spenders first;
* ``most-valuable-customers.csv``: the top tenth by expected value next year (only when the
  models were fitted);
* ``big-spenders-at-risk.csv``: every big spender slipping away, highest value at risk first
  (the report shows the first 25).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from retain.analytics import SEGMENTS
from retain.report.analysis import Analysis
from retain.report.labels import label

#: The lifecycle stage whose customers are still reachable before they go dormant.
AT_RISK_STAGE = "at risk"
_PROFILE = (
    "customer_id",
    "rfm_segment",
    "lifecycle_stage",
    "recency_days",
    "frequency",
    "monetary",
    "p_alive",
    "clv_12m",
)


@dataclass(frozen=True)
class CustomerList:
    """One downloadable list: the section it belongs to, its file and its customers."""

    section: str
    filename: str
    title: str
    customers: pd.DataFrame

    def in_words(self) -> pd.DataFrame:
        """The list with its column names in words, as written to the CSV."""
        return self.customers.rename(columns={c: label(c) for c in self.customers.columns})


def win_back_segments() -> tuple[str, ...]:
    """The RFM segments of customers who were good and are slipping away."""
    return tuple(s for s in SEGMENTS if "risk" in s or "lose" in s)


def customer_lists(analysis: Analysis) -> list[CustomerList]:
    """Every downloadable list of the report, in section order."""
    scores = analysis.scores
    profile = scores.loc[:, list(_PROFILE)].rename(columns={"frequency": "repeat_order_days"})
    at_risk = profile[scores.lifecycle_stage == AT_RISK_STAGE]
    win_back = profile[scores.rfm_segment.isin(win_back_segments())]
    lists = [
        CustomerList(
            "lifecycle",
            "lifecycle-at-risk.csv",
            "customers at risk",
            at_risk.sort_values(["monetary", "customer_id"], ascending=[False, True]),
        ),
        CustomerList(
            "rfm",
            "rfm-win-back.csv",
            "customers to win back",
            win_back.sort_values(["monetary", "customer_id"], ascending=[False, True]),
        ),
    ]
    if analysis.model.model is not None:
        top = profile[scores.value_decile == 10]
        lists.append(
            CustomerList(
                "clv",
                "most-valuable-customers.csv",
                "most valuable tenth",
                top.sort_values(["clv_12m", "customer_id"], ascending=[False, True]),
            )
        )
    lists.append(
        CustomerList(
            "big-spenders",
            "big-spenders-at-risk.csv",
            "big spenders slipping away",
            analysis.big_spenders,
        )
    )
    return [
        CustomerList(item.section, item.filename, item.title, item.customers.reset_index(drop=True))
        for item in lists
    ]
