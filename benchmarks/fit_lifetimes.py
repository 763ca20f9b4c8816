"""lifetimes 0.11.3's side, run in its own environment (pandas 1.5, numpy 1.26, scipy 1.11)."""

from __future__ import annotations

import json
import warnings

import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import ConvergenceError, summary_data_from_transaction_data

from _timing import RESULTS, save, timed

MODELS = {"bg": BetaGeoFitter, "pareto": ParetoNBDFitter}
DATASETS = {"cdnow": ("cdnow.csv", 5), "bg_1m": ("bg_1m.csv", 1), "pareto_1m": ("pareto_1m.csv", 1)}


def fit(model, data):
    return model(penalizer_coef=0.0).fit(data["frequency"], data["recency"], data["T"])


def main() -> None:
    warnings.simplefilter("ignore")
    for dataset, (file, runs) in DATASETS.items():
        data = pd.read_csv(RESULTS / file)
        for name, model in MODELS.items():
            if dataset.endswith("_1m") and not dataset.startswith(name):
                continue
            try:
                fitted, timing = timed(
                    lambda model=model, data=data: fit(model, data),
                    runs=runs,
                    warmup=0 if runs == 1 else 1,
                )
            except ConvergenceError as error:
                save(f"lifetimes_fit_{name}_{dataset}", {"error": str(error).splitlines()[0]})
                continue
            save(
                f"lifetimes_fit_{name}_{dataset}",
                timing | {"params": {k: float(v) for k, v in fitted.params_.items()}},
            )
            _, timing = timed(
                lambda fitted=fitted, data=data: (
                    fitted.conditional_probability_alive(
                        data["frequency"], data["recency"], data["T"]
                    ),
                    fitted.conditional_expected_number_of_purchases_up_to_time(
                        52.0, data["frequency"], data["recency"], data["T"]
                    ),
                ),
                runs=3 if dataset.endswith("_1m") else 5,
            )
            save(f"lifetimes_predict_{name}_{dataset}", timing | {"rows": len(data)})
    small_samples(pd.read_csv(RESULTS / "cdnow.csv"))
    transactions = pd.read_parquet(RESULTS / "transactions_10m.parquet").iloc[:1_000_000]
    _, timing = timed(
        lambda: summary_data_from_transaction_data(
            transactions,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end="2024-12-31",
            freq="W",
        ),
        runs=1,
        warmup=0,
    )
    save("lifetimes_rfm_1m", timing | {"rows": len(transactions)})


def small_samples(cdnow: pd.DataFrame) -> None:
    panels = json.loads((RESULTS / "small_samples.json").read_text())
    for name, model in MODELS.items():
        outcomes = []
        for rows in panels:
            try:
                fit(model, cdnow.iloc[rows])
                outcomes.append({"ok": True})
            except ConvergenceError as error:
                outcomes.append({"ok": False, "error": str(error).strip().splitlines()[0]})
        save(f"lifetimes_small_{name}", {"outcomes": outcomes})


if __name__ == "__main__":
    main()
