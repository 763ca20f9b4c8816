"""Put both sides together: medians, ratios, and both libraries' optima under one likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd

from _timing import RESULTS, load
from retain.stats import BetaGeoModel, ParetoNBDModel

MODELS = {"bg": ("BG/NBD", BetaGeoModel), "pareto": ("Pareto/NBD", ParetoNBDModel)}
FITS = [("bg", "cdnow"), ("pareto", "cdnow"), ("bg", "bg_1m"), ("pareto", "pareto_1m")]
FILES = {"cdnow": "cdnow.csv", "bg_1m": "bg_1m.csv", "pareto_1m": "pareto_1m.csv"}


def log_likelihood(model: type, params: dict, dataset: str) -> float:
    """The total log-likelihood at ``params``, computed by retain's (tested) formula."""
    data = pd.read_csv(RESULTS / FILES[dataset])
    columns = {name: data[name].to_numpy(float) for name in ("frequency", "recency", "T")}
    theta = np.array([params[name] for name in model.param_names])
    return model().total_log_likelihood(theta, columns, np.ones(len(data)))[0]


def main() -> None:
    lines = [
        "| fit | retain median | lifetimes median | speed-up | LL retain | LL lifetimes | "
        "relative gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, dataset in FITS:
        label, model = MODELS[name]
        ours, theirs = load(f"retain_fit_{name}_{dataset}"), load(f"lifetimes_fit_{name}_{dataset}")
        if ours is None or theirs is None:
            continue
        if "error" in theirs:
            lines.append(
                f"| {label}, {dataset} | {ours['median_s']:.3f} s | ConvergenceError: "
                f"{theirs['error']} | - | {ours['log_likelihood']:.6f} | - | - |"
            )
            continue
        theirs_ll = log_likelihood(model, theirs["params"], dataset)
        gap = (ours["log_likelihood"] - theirs_ll) / abs(theirs_ll)
        lines.append(
            f"| {label}, {dataset} | {ours['median_s']:.3f} s | {theirs['median_s']:.3f} s | "
            f"{theirs['median_s'] / ours['median_s']:.0f}x | {ours['log_likelihood']:.6f} | "
            f"{theirs_ll:.6f} | {gap:+.1e} |"
        )
    lines += ["", "| P(alive) + expected purchases | rows | retain | lifetimes | speed-up |"]
    lines.append("|---|---|---|---|---|")
    for name, dataset in FITS:
        ours = load(f"retain_predict_{name}_{dataset}")
        theirs = load(f"lifetimes_predict_{name}_{dataset}")
        if ours is None or theirs is None:
            continue
        lines.append(
            f"| {MODELS[name][0]}, {dataset} | {ours['rows']:,} | {ours['median_s']:.3f} s | "
            f"{theirs['median_s']:.3f} s | {theirs['median_s'] / ours['median_s']:.0f}x |"
        )
    ours, pandas, theirs = load("retain_rfm_10m"), load("pandas_rfm_10m"), load("lifetimes_rfm_1m")
    if ours and pandas:
        lines += ["", "| rfm_summary | transactions | median | vs retain |", "|---|---|---|---|"]
        lines.append(f"| retain (DuckDB) | 10,000,000 | {ours['median_s']:.2f} s | 1x |")
        lines.append(
            f"| pandas groupby | 10,000,000 | {pandas['median_s']:.2f} s | "
            f"{pandas['median_s'] / ours['median_s']:.1f}x slower |"
        )
        if theirs:
            lines.append(
                f"| lifetimes summary_data_from_transaction_data | 1,000,000 | "
                f"{theirs['median_s']:.2f} s | (a tenth of the rows) |"
            )
    lines += [
        "",
        "| small CDNOW panels (60) | lifetimes fails | retain fits those | retain fails |",
        "|---|---|---|---|",
    ]
    for name, (label, _) in MODELS.items():
        ours, theirs = load(f"retain_small_{name}"), load(f"lifetimes_small_{name}")
        if ours is None or theirs is None:
            continue
        pairs = list(zip(ours["outcomes"], theirs["outcomes"], strict=True))
        lines.append(
            f"| {label} | {sum(not t['ok'] for _, t in pairs)} | "
            f"{sum(o['ok'] and not t['ok'] for o, t in pairs)} | "
            f"{sum(not o['ok'] for o, _ in pairs)} |"
        )
    text = "\n".join(lines)
    (RESULTS / "report.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
