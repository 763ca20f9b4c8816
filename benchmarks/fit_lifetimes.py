"""lifetimes 0.11.3's side, run in its own environment (pandas 1.5, numpy 1.26, scipy 1.11).

Besides the times, it evaluates lifetimes' own log-likelihood formula (with no penalty, on
the unscaled data) at its optimum and at retain's, so the report compares the two optima
with each library's likelihood and not only with retain's.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import ConvergenceError, summary_data_from_transaction_data

from _timing import RESULTS, load, save, timed

MODELS = {"bg": BetaGeoFitter, "pareto": ParetoNBDFitter}
DATASETS = {"cdnow": ("cdnow.csv", 5), "bg_1m": ("bg_1m.csv", 3), "pareto_1m": ("pareto_1m.csv", 1)}


def fit(model, data):
    # ParetoNBDFitter starts Nelder-Mead from a random point (numpy's global generator):
    # fixed here, so its path, time and optimum are the same in every run.
    np.random.seed(0)
    return model(penalizer_coef=0.0).fit(data["frequency"], data["recency"], data["T"])


def log_likelihood(name: str, params: dict, data: pd.DataFrame) -> float:
    """Total log-likelihood by lifetimes' own formula, penalty 0, time in the data's units.

    Both fitters return a normalised negative log-likelihood: BG/NBD divides by the sum of the
    weights, Pareto/NBD by their mean (1 here).
    """
    columns = [data[column].to_numpy(float) for column in ("frequency", "recency", "T")]
    weights = np.ones(len(data))
    if name == "bg":
        theta = np.log([params[key] for key in ("r", "alpha", "a", "b")])
        return -BetaGeoFitter._negative_log_likelihood(theta, *columns, weights, 0.0) * len(data)
    theta = [params[key] for key in ("r", "alpha", "s", "beta")]
    return -ParetoNBDFitter._negative_log_likelihood(theta, *columns, weights, 0.0)


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
                save(f"lifetimes_fit_{name}_{dataset}", {"error": str(error).strip()})
                continue
            params = {key: float(value) for key, value in fitted.params_.items()}
            ours = load(f"retain_fit_{name}_{dataset}")
            save(
                f"lifetimes_fit_{name}_{dataset}",
                timing
                | {
                    "params": params,
                    "log_likelihood": log_likelihood(name, params, data),
                    "log_likelihood_at_retain_params": (
                        log_likelihood(name, ours["params"], data) if ours else None
                    ),
                },
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
    rfm_summary()


def rfm_summary() -> None:
    """summary_data_from_transaction_data on all 10M purchases, Parquet read included (once:
    it takes about 20 s)."""

    def summarise() -> int:
        transactions = pd.read_parquet(RESULTS / "transactions_10m.parquet")
        summary = summary_data_from_transaction_data(
            transactions,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end="2024-12-31",
            freq="W",
        )
        return len(summary)

    customers, timing = timed(summarise, runs=1, warmup=0)
    save("lifetimes_rfm_10m", timing | {"customers": customers, "transactions": 10_000_000})


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
