"""Helpers for import tests: real files in tmp_path and a snapshot of the whole store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from retain.customers.models import Complaint, Customer, Order, Subscription, SurveyAnswer

TABLES = {
    "customers": "customers",
    "orders": "orders",
    "subscriptions": "subscriptions",
    "complaints": "complaints",
    "survey-answers": "survey_answers",
}


def write_file(frame: pd.DataFrame, folder: Path, name: str, fmt: str) -> Path:
    """``frame`` as ``folder/name.csv`` or ``.parquet``."""
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def store_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the customers tables, in key order (to compare before and after)."""
    models = (Customer, Order, Subscription, Complaint, SurveyAnswer)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
