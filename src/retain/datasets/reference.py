"""Loaders for the public research data sets every customer-base model is checked against."""

from __future__ import annotations

from importlib import resources

import pandas as pd


def _data_file(name: str):
    return resources.files("retain.datasets").joinpath("data", name)


def load_cdnow_transactions(*, full: bool = False) -> pd.DataFrame:
    """CDNOW purchases: customers whose first purchase was in the first quarter of 1997,
    followed to 1998-06-30.

    Source: the CDNOW data set of Fader, Hardie & Lee (2005), "Counting your customers the
    easy way: an alternative to the Pareto/NBD model", *Marketing Science* 24(2), 275-284.

    Parameters
    ----------
    full
        ``False`` (default): the usual 1-in-10 sample, 2,357 customers and 6,919 purchases.
        ``True``: the whole cohort, 23,570 customers and 69,659 purchases.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (int), ``date`` (datetime64, day precision), ``quantity`` (CDs bought,
        int) and ``amount`` (dollars, float), one row per purchase record.
    """
    if full:
        with _data_file("CDNOW_master.txt").open() as handle:
            raw = pd.read_csv(handle, sep=r"\s+", dtype={"date": str})
        raw = raw.rename(columns={"number_of_cds": "quantity", "dollar_value": "amount"})
    else:
        with _data_file("CDNOW_sample.txt").open() as handle:
            raw = pd.read_csv(
                handle,
                sep=r"\s+",
                header=None,
                names=["customer_id", "sample_id", "date", "quantity", "amount"],
                dtype={"date": str},
            )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("int64"),
            "date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "quantity": raw["quantity"].astype("int64"),
            "amount": raw["amount"].astype("float64"),
        }
    )


def load_donations() -> pd.DataFrame:
    """Repeat donations to a non-profit over six yearly opportunities, as 22 distinct
    (frequency, recency) patterns of 11,104 donors whose first gift was in 1995.

    Source: Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time
    noncontractual setting", *Marketing Science* 29(6), 1086-1108.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency``, ``periods`` (6) and ``weight`` (donors with that pattern),
        ready for :class:`retain.stats.BetaGeoBetaBinomModel`.
    """
    with _data_file("donations.csv").open() as handle:
        raw = pd.read_csv(handle)
    return raw.rename(columns={"weights": "weight"})[["frequency", "recency", "periods", "weight"]]


def load_sbg_retention() -> pd.DataFrame:
    """Share of customers (percent) still subscribed 0-12 years after joining, for two
    segments of 1,000 customers ("regular" and "high_end").

    Source: Fader & Hardie (2007), "How to project customer retention", *Journal of
    Interactive Marketing* 21(1), 76-90. The paper fits years 0-7 and holds out 8-12.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``regular``, ``high_end``.
    """
    with _data_file("sbg_retention.csv").open() as handle:
        return pd.read_csv(handle)
