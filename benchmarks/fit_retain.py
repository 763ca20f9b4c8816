"""retain's side: fits on CDNOW and on 1M simulated customers, and scoring 1M customers."""

from __future__ import annotations

import json
import warnings

import pandas as pd

from _timing import RESULTS, save, timed
from retain.errors import ConvergenceError
from retain.stats.beta_geo import BetaGeoModel
from retain.stats.pareto_nbd import ParetoNBDModel

MODELS = {"bg": BetaGeoModel, "pareto": ParetoNBDModel}
DATASETS = {"cdnow": ("cdnow.csv", 7), "bg_1m": ("bg_1m.csv", 5), "pareto_1m": ("pareto_1m.csv", 3)}


def main() -> None:
    for dataset, (file, runs) in DATASETS.items():
        data = pd.read_csv(RESULTS / file)
        for name, model in MODELS.items():
            if dataset.endswith("_1m") and not dataset.startswith(name):
                continue
            fitted, timing = timed(lambda model=model, data=data: model().fit(data), runs=runs)
            save(
                f"retain_fit_{name}_{dataset}",
                timing
                | {
                    "log_likelihood": fitted.log_likelihood_,
                    "params": fitted.params_,
                    "iterations": fitted.result_.iterations,
                },
            )
            _, timing = timed(
                lambda fitted=fitted, data=data: (
                    fitted.probability_alive(data),
                    fitted.expected_purchases(data, 52.0),
                ),
                runs=5,
            )
            save(f"retain_predict_{name}_{dataset}", timing | {"rows": len(data)})
    small_samples(pd.read_csv(RESULTS / "cdnow.csv"))


def small_samples(cdnow: pd.DataFrame) -> None:
    """Which of the small CDNOW panels each model fits, and what it says when it cannot."""
    panels = json.loads((RESULTS / "small_samples.json").read_text())
    for name, model in MODELS.items():
        outcomes = []
        for rows in panels:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted = model().fit(cdnow.iloc[rows])
                outcomes.append({"ok": True, "log_likelihood": fitted.log_likelihood_})
            except ConvergenceError as error:
                outcomes.append({"ok": False, "error": str(error)})
        save(f"retain_small_{name}", {"outcomes": outcomes})


if __name__ == "__main__":
    main()
