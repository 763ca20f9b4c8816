"""Words for the report: column names a manager reads, and money with its currency symbol."""

from __future__ import annotations

import math

#: Column names in the report's tables and downloads, in words.
LABELS = {
    "segment": "Segment",
    "customers": "Customers",
    "customer_share": "Share of customers",
    "revenue": "Revenue",
    "revenue_share": "Share of revenue",
    "model": "Model",
    "mean_absolute_error": "Error per customer (orders)",
    "predicted_purchases": "Predicted orders",
    "actual_purchases": "Actual orders",
    "channel": "Channel",
    "retention_12m": "Still buying after a year",
    "retention_12m_low": "low (95%)",
    "retention_12m_high": "high (95%)",
    "clv_12m": "Expected value next year",
    "clv_12m_low": "low (95%)",
    "clv_12m_high": "high (95%)",
    "customer_id": "Customer",
    "total_spend": "Total spend",
    "orders": "Orders",
    "usual_gap_days": "Usual gap (days)",
    "days_since_last_order": "Days since last order",
    "last_gap_days": "Last gap (days)",
    "p_alive": "Chance still a customer",
    "reasons": "Why",
    "value_at_risk": "Value at risk a year",
    "rfm_segment": "RFM segment",
    "rfm_score": "RFM score",
    "lifecycle_stage": "Lifecycle stage",
    "recency_days": "Days since last order",
    "monetary": "Total spend",
    "churn_risk": "Churn risk",
    "next_order_date": "Next order expected by",
    "value_decile": "Value tenth (10 = top)",
    "expected_purchases_365d": "Expected orders next year",
}

#: Symbols of the common currencies; any other code is written before the amount.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "THB": "฿", "VND": "₫"}


def label(column: str) -> str:
    """The column's name in words (its own name, spaces for underscores, if not listed)."""
    return LABELS.get(column, column.replace("_", " ").capitalize())


class Money:
    """Formats amounts in one currency: ``€1,234``, ``CHF 1,234.50``, or ``1,234`` when the
    orders name no currency."""

    def __init__(self, currency: str | None) -> None:
        code = (currency or "").strip().upper()
        self.code = code or None
        self.prefix = SYMBOLS.get(code, f"{code} " if code else "")

    def __call__(self, value: float, decimals: int = 0) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        sign = "-" if value < 0 else ""
        return f"{sign}{self.prefix}{abs(value):,.{decimals}f}"

    @property
    def unit(self) -> str:
        """For an axis title: ``" (€)"``, ``" (CHF)"``, or nothing without a currency."""
        if self.code is None:
            return ""
        return f" ({SYMBOLS.get(self.code, self.code)})"
