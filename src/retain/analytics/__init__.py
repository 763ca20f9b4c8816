"""Customer analytics as Ibis expressions: tables in, tables out, on any Ibis backend."""

from retain.analytics.cohorts import cohort_retention
from retain.analytics.orders import EXCLUDED_STATUSES, completed_orders
from retain.analytics.rfm import rfm_summary

__all__ = ["EXCLUDED_STATUSES", "cohort_retention", "completed_orders", "rfm_summary"]
