"""retain's side: fits on CDNOW and on 1M simulated customers, and scoring 1M customers."""

from __future__ import annotations

import pandas as pd

from _timing import RESULTS, save, timed
from retain.stats import BetaGeoModel, ParetoNBDModel

MODELS = {"bg": BetaGeoModel, "pareto": ParetoNBDModel}
DATASETS = {"cdnow": ("cdnow.csv", 7), "bg_1m": ("bg_1m.csv", 3), "pareto_1m": ("pareto_1m.csv", 3)}


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


if __name__ == "__main__":
    main()
