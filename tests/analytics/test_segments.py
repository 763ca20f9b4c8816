"""RFM quintile scores and named segments."""

from __future__ import annotations

import numpy as np
import pytest

from retain.analytics.segments import SEGMENTS, rfm_segments, segment_summary
from tests.analytics.builders import make_orders, random_orders


def rule(r: int, f: int, m: int) -> str:
    """The segment table of the module docstring, written out plainly."""
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4:
        return "promising"
    if r == 3:
        return "needs attention"
    if f >= 4 and m >= 4:
        return "can't lose them"
    if f >= 3:
        return "at risk"
    return "hibernating" if r == 2 else "lost"


def test_five_distinct_customers_get_scores_one_to_five() -> None:
    # Customer k orders k times, the last one k days before the end, k * 10 each.
    rows = [
        (k, f"2024-12-{31 - k - j:02d}", 10.0 * k) for k in range(1, 6) for j in range(k)
    ]  # fmt: skip
    scores = rfm_segments(make_orders(rows), observation_end="2024-12-31")
    assert list(scores.recency_days) == [1, 2, 3, 4, 5]
    assert list(scores.r_score) == [5, 4, 3, 2, 1]
    assert list(scores.f_score) == [1, 2, 3, 4, 5]
    assert list(scores.m_score) == [1, 2, 3, 4, 5]
    assert list(scores.rfm_score) == ["511", "422", "333", "244", "155"]


def test_equal_values_share_a_score() -> None:
    rows = [(k, "2024-12-01", 10.0) for k in range(8)] + [(9, "2024-12-30", 50.0)] * 3
    scores = rfm_segments(make_orders(rows), observation_end="2024-12-31")
    once = scores[scores.customer_id < 8]
    assert once.f_score.nunique() == 1 and once.r_score.nunique() == 1
    assert scores[scores.customer_id == 9].f_score.item() == 5


def test_segments_follow_the_rule_table_for_every_customer() -> None:
    scores = rfm_segments(random_orders(6_000, 900, seed=5), observation_end="2024-12-31")
    triples = zip(scores.r_score, scores.f_score, scores.m_score, strict=True)
    expected = [rule(r, f, m) for r, f, m in triples]
    assert list(scores.segment) == expected
    assert set(scores.segment) <= set(SEGMENTS)


def test_orders_after_the_end_and_refunds_are_left_out() -> None:
    orders = make_orders(
        [(1, "2024-06-01", 10.0), (1, "2025-01-05", 99.0), (1, "2024-07-01", 5.0)],
        status=["completed", "completed", "refunded"],
    )
    scores = rfm_segments(orders, observation_end="2024-12-31")
    assert scores.frequency.item() == 1
    assert scores.monetary.item() == 10.0


def test_summary_lists_every_segment_with_shares_summing_to_one() -> None:
    scores = rfm_segments(random_orders(3_000, 500, seed=6), observation_end="2024-12-31")
    summary = segment_summary(scores)
    assert list(summary.segment) == list(SEGMENTS)
    assert summary.customers.sum() == len(scores)
    assert summary.customer_share.sum() == pytest.approx(1.0)
    assert summary.revenue_share.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(summary.revenue.sum(), scores.monetary.sum())
