"""Reference data sets shipped with retain, each with the paper it comes from.

The files live in ``retain/datasets/data``; nothing is downloaded. ``make_business`` draws a
synthetic shop with a known truth.
"""

from retain.datasets.reference import (
    load_cdnow_transactions,
    load_donations,
    load_sbg_retention,
)
from retain.datasets.synthetic import Business, make_business

__all__ = [
    "Business",
    "load_cdnow_transactions",
    "load_donations",
    "load_sbg_retention",
    "make_business",
]
