"""The uplift's intervals against published figures and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from retain.journeys.uplift import Moments, mean_difference, rate_difference, wilson


def test_wilson_matches_newcombes_table_i() -> None:
    # Newcombe (1998), Table I: 81/263 gives 0.2553 to 0.3662 (score method).
    interval = wilson(81, 263)
    assert interval.low == pytest.approx(0.2553, abs=5e-5)
    assert interval.high == pytest.approx(0.3662, abs=5e-5)


@pytest.mark.parametrize(
    ("treated", "held", "low", "high"),
    [
        # Newcombe (1998), Table II, method 10 (hybrid score): 56/70 - 48/80 and 9/10 - 3/10.
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
    ],
)
def test_rate_difference_matches_newcombes_method_10(
    treated: tuple[int, int], held: tuple[int, int], low: float, high: float
) -> None:
    interval = rate_difference(treated, held)
    assert interval.estimate == pytest.approx(treated[0] / treated[1] - held[0] / held[1])
    assert interval.low == pytest.approx(low, abs=5e-4)
    assert interval.high == pytest.approx(high, abs=5e-4)


def test_no_enrolled_customer_gives_no_interval() -> None:
    assert math.isnan(rate_difference((0, 0), (3, 10)).estimate)
    assert math.isnan(mean_difference(Moments(0, 0, 0), Moments(3, 3, 3)).low)


def test_mean_difference_is_welchs_interval() -> None:
    rng = np.random.default_rng(7)
    treated, held = rng.gamma(2.0, 30.0, 400), rng.gamma(2.0, 25.0, 90)
    interval = mean_difference(
        Moments(len(treated), treated.sum(), (treated**2).sum()),
        Moments(len(held), held.sum(), (held**2).sum()),
    )
    expected = stats.ttest_ind(treated, held, equal_var=False).confidence_interval(0.95)
    assert interval.estimate == pytest.approx(treated.mean() - held.mean())
    assert interval.low == pytest.approx(expected.low, rel=1e-9)
    assert interval.high == pytest.approx(expected.high, rel=1e-9)


def test_the_rate_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(2000):
        treated, held = rng.binomial(200, 0.12), rng.binomial(40, 0.08)
        interval = rate_difference((int(treated), 200), (int(held), 40))
        covered += interval.low <= 0.04 <= interval.high
    assert 0.93 <= covered / 2000 <= 0.975
