"""MBG/NBD on CDNOW: the published fit and lifetimes' numbers as a second opinion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.datasets import published
from retain.stats.modified_beta_geo import ModifiedBetaGeoModel

# CDNOW calibration rows 0, 3, 17, 20; lifetimes 0.11.3 at the published estimates.
ROWS = [0, 3, 17, 20]
REFERENCE_P_ALIVE = [0.7062150554621961, 0.3897430016855185, 0.3897430016855185, 0.6710106141639668]
REFERENCE_EXPECTED_39 = [
    1.2630502633418976, 0.15402448514843256, 0.15402448514843256, 1.653866698949323,
]  # fmt: skip


def test_cdnow_fit_reproduces_published_estimates(cdnow_calibration: pd.DataFrame) -> None:
    model = ModifiedBetaGeoModel().fit(cdnow_calibration)
    for name, value in published.MODIFIED_BETA_GEO.params.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    # No log-likelihood is published; this is the maximum, a hair above BG/NBD's -9582.43.
    assert model.log_likelihood_ == pytest.approx(-9582.1357, abs=1e-3)
    assert model.result_.converged


def test_cdnow_holdout_matches_lifetimes(cdnow_calibration: pd.DataFrame) -> None:
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    expected = model.expected_purchases(cdnow_calibration, 39.0)
    assert expected.sum() == pytest.approx(1577.1287999297674, rel=1e-12)


def test_predictions_match_lifetimes_on_cdnow_customers(cdnow_calibration: pd.DataFrame) -> None:
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    rows = cdnow_calibration.iloc[ROWS]
    np.testing.assert_allclose(model.probability_alive(rows), REFERENCE_P_ALIVE, rtol=1e-12)
    np.testing.assert_allclose(
        model.expected_purchases(rows, 39.0), REFERENCE_EXPECTED_39, rtol=1e-12
    )


def test_customers_without_repeat_purchase_may_be_gone() -> None:
    model = ModifiedBetaGeoModel.from_params(**published.MODIFIED_BETA_GEO.params)
    p_alive = model.probability_alive(
        {"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [1.0, 70.0]}
    )
    assert 0.0 < p_alive[1] < p_alive[0] < 1.0
