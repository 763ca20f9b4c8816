"""What `from retain.stats import ...` offers: pinned, so a removal is a visible decision."""

from __future__ import annotations

import retain.stats

PUBLIC = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "FitResult",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "distinct_rows",
]


def test_public_names_are_pinned_and_sorted() -> None:
    assert retain.stats.__all__ == PUBLIC


def test_every_public_name_resolves() -> None:
    for name in PUBLIC:
        assert getattr(retain.stats, name) is not None, name
