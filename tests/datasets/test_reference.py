"""The shipped reference data sets load with the documented shape."""

from __future__ import annotations

from retain.datasets import load_cdnow_transactions, load_donations, load_sbg_retention


def test_cdnow_sample_and_full_cohort_have_the_published_sizes() -> None:
    sample = load_cdnow_transactions()
    assert list(sample.columns) == ["customer_id", "date", "quantity", "amount"]
    assert (len(sample), sample.customer_id.nunique()) == (6919, 2357)
    full = load_cdnow_transactions(full=True)
    assert (len(full), full.customer_id.nunique()) == (69659, 23570)
    assert full.date.min().isoformat()[:10] == "1997-01-01"
    assert full.date.max().isoformat()[:10] == "1998-06-30"


def test_donations_hold_11104_donors_over_six_periods() -> None:
    donations = load_donations()
    assert list(donations.columns) == ["frequency", "recency", "periods", "weight"]
    assert len(donations) == 22
    assert donations.weight.sum() == 11104
    assert set(donations.periods) == {6}


def test_sbg_retention_covers_years_0_to_12_for_both_segments() -> None:
    retention = load_sbg_retention()
    assert retention.year.tolist() == list(range(13))
    assert retention.loc[0, ["regular", "high_end"]].tolist() == [100.0, 100.0]
