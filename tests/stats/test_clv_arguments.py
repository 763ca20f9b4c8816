"""CLV arguments that cannot be right are refused in words, with plain values."""

from __future__ import annotations

import numpy as np
import pytest

from retain.errors import DataError
from retain.stats.clv import discounted_expected_purchases, monthly_discount_factors

SUMMARY = {"frequency": np.array([2.0, 0.0]), "recency": np.array([30.0, 0.0]),
           "T": np.array([70.0, 40.0])}  # fmt: skip


class SteadyBuyer:
    """A transaction model whose customers buy once a month (the checks come before it)."""

    def expected_purchases(self, data, t):
        return np.full(len(data["T"]), float(t) / (365.2425 / 12))


def value(**arguments):
    defaults = {"horizon_months": 12, "time_unit": "D", "annual_discount_rate": 0.1}
    return discounted_expected_purchases(SteadyBuyer(), SUMMARY, **(defaults | arguments))


def test_a_right_unit_and_rate_value_twelve_monthly_purchases() -> None:
    assert value(annual_discount_rate=0.0) == pytest.approx([12.0, 12.0])


@pytest.mark.parametrize(("unit", "shown"), [("weeks", '"weeks"'), ("w", '"w"'), (None, "(empty)")])
def test_a_wrong_time_unit_names_the_units(unit, shown) -> None:
    with pytest.raises(DataError) as raised:
        value(time_unit=unit)
    assert str(raised.value) == (
        "time_unit must be the unit recency and T are measured in, as given to rfm_summary: "
        f"D (days), W (weeks), M (months), Y (years); got {shown}"
    )


@pytest.mark.parametrize(
    ("rate", "hint"),
    [(10, "10 (for 10 % a year, give 0.1)"), (1.0, "1 (for 1 % a year, give 0.01)"),
     (-0.05, "-0.05")],
)  # fmt: skip
def test_a_discount_rate_outside_zero_to_one_is_refused(rate, hint) -> None:
    with pytest.raises(DataError) as raised:
        value(annual_discount_rate=rate)
    assert str(raised.value) == (
        "annual_discount_rate must be a yearly rate from 0 up to (not including) 1, such as "
        f"0.10 for 10 % a year; got {hint}"
    )


def test_the_rate_is_shown_plainly_not_as_a_numpy_repr() -> None:
    with pytest.raises(DataError) as raised:
        monthly_discount_factors(12, np.float64(2.5))
    assert "got 2.5 (for 2.5 % a year, give 0.025)" in str(raised.value)
    assert "np.float64" not in str(raised.value)


def test_rates_from_zero_up_to_one_are_accepted() -> None:
    assert monthly_discount_factors(12, 0.0).tolist() == [1.0] * 12
    assert monthly_discount_factors(1, 0.99)[0] == pytest.approx(1.99 ** (-1 / 12))
