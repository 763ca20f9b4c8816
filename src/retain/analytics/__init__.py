"""Customer analytics as Ibis expressions: tables in, tables out, on any Ibis backend."""

from retain.analytics.cohorts import cohort_retention
from retain.analytics.orders import EXCLUDED_STATUSES, completed_orders
from retain.analytics.rfm import rfm_summary
from retain.analytics.segments import SEGMENTS, rfm_segments, segment_summary

__all__ = [
    "EXCLUDED_STATUSES",
    "SEGMENTS",
    "cohort_retention",
    "completed_orders",
    "rfm_segments",
    "rfm_summary",
    "segment_summary",
]
