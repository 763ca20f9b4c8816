"""Reference data sets shipped with retain, each with the paper it comes from.

The files live in ``retain/datasets/data``; nothing is downloaded.
"""

from retain.datasets.reference import (
    load_cdnow_transactions,
    load_donations,
    load_sbg_retention,
)

__all__ = ["load_cdnow_transactions", "load_donations", "load_sbg_retention"]
