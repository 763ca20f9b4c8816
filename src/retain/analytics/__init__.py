"""Customer analytics as Ibis expressions: tables in, tables out, on any Ibis backend."""

from retain.analytics.big_spenders import big_spenders_at_risk
from retain.analytics.channels import channel_value, wilson_interval
from retain.analytics.churn import subscription_churn
from retain.analytics.cohorts import cohort_retention
from retain.analytics.inputs import check_complaints, check_customers, check_survey_answers
from retain.analytics.lifecycle import (
    STAGES,
    lifecycle_history,
    lifecycle_stages,
    lifecycle_transitions,
)
from retain.analytics.orders import (
    EXCLUDED_STATUSES,
    OrdersLeftOut,
    completed_orders,
    net_refunds,
    orders_left_out,
)
from retain.analytics.rfm import rfm_summary
from retain.analytics.segments import SEGMENTS, rfm_segments, segment_summary

__all__ = [
    "EXCLUDED_STATUSES",
    "SEGMENTS",
    "STAGES",
    "OrdersLeftOut",
    "big_spenders_at_risk",
    "channel_value",
    "check_complaints",
    "check_customers",
    "check_survey_answers",
    "cohort_retention",
    "completed_orders",
    "lifecycle_history",
    "lifecycle_stages",
    "lifecycle_transitions",
    "net_refunds",
    "orders_left_out",
    "rfm_segments",
    "rfm_summary",
    "segment_summary",
    "subscription_churn",
    "wilson_interval",
]
