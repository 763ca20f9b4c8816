"""Acquisition channels: retention with Wilson intervals, CLV with normal intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retain.analytics.channels import channel_value, wilson_interval
from retain.errors import DataError
from tests.analytics.builders import make_orders


def test_wilson_interval_matches_known_values() -> None:
    low, high = wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    np.testing.assert_allclose(low, [0.0, 0.2366, 0.7225], atol=1e-4)
    np.testing.assert_allclose(high, [0.2775, 0.7634, 1.0], atol=1e-4)


def planted_base() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Referral customers all come back within a year, paid ones half of them; all in 2023."""
    rows, channels = [], []
    for k in range(40):
        channel = "referral" if k < 20 else "paid"
        comes_back = channel == "referral" or k % 2 == 0
        rows.append((k, "2023-02-01", 10.0))
        channels.append(channel)
        if comes_back:
            rows.append((k, "2023-06-01", 10.0))
            channels.append("web")
    orders = make_orders(rows, channel=channels)
    scores = pd.DataFrame({"customer_id": range(40), "clv_12m": [100.0] * 20 + [40.0] * 20})
    return orders, scores


def test_channels_are_ranked_with_their_planted_retention() -> None:
    orders, scores = planted_base()
    result = channel_value(orders, scores, observation_end="2024-12-31")
    assert list(result.channel) == ["referral", "paid"]
    assert list(result.retention_12m) == [1.0, 0.5]
    assert list(result.customers_a_year_old) == [20, 20]
    paid = result.iloc[1]
    assert paid.retention_12m_low < 0.5 < paid.retention_12m_high
    assert list(result.clv_12m) == [100.0, 40.0]


def test_acquisition_channel_from_the_customers_table_wins() -> None:
    orders, scores = planted_base()
    customers = pd.DataFrame({"customer_id": range(40), "acquisition_channel": ["tv"] * 40})
    result = channel_value(orders, scores, observation_end="2024-12-31", customers=customers)
    assert list(result.channel) == ["tv"]
    assert result.retention_12m.item() == pytest.approx(0.75)


def test_customers_younger_than_a_year_do_not_count_for_retention() -> None:
    orders, scores = planted_base()
    result = channel_value(orders, scores, observation_end="2023-12-31")
    assert list(result.customers_a_year_old) == [0, 0]
    assert result.retention_12m.isna().all()


def test_without_any_channel_column_the_error_says_where_to_get_one() -> None:
    orders, scores = planted_base()
    with pytest.raises(DataError, match="no 'channel' column in the orders and no customers table"):
        channel_value(orders.drop(columns="channel"), scores, observation_end="2024-12-31")
