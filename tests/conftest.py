"""Fixtures shared across the suite: the reference data sets, summarised once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from retain.analytics import rfm_summary
from retain.datasets import load_cdnow_transactions

CDNOW_CALIBRATION_END = "1997-09-30"
CDNOW_OBSERVATION_END = "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    return load_cdnow_transactions()


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    """The 2,357 sample customers in weeks, calibrated to 1997-09-30, holdout to 1998-06-30."""
    return rfm_summary(
        cdnow_transactions,
        observation_end=CDNOW_OBSERVATION_END,
        calibration_end=CDNOW_CALIBRATION_END,
    )
