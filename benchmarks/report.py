"""Put both sides together: medians, ratios, and both libraries' optima under both likelihoods."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from _timing import RESULTS, load
from retain.stats.beta_geo import BetaGeoModel
from retain.stats.pareto_nbd import ParetoNBDModel

MODELS = {"bg": ("BG/NBD", BetaGeoModel), "pareto": ("Pareto/NBD", ParetoNBDModel)}
FITS = [("bg", "cdnow"), ("pareto", "cdnow"), ("bg", "bg_1m"), ("pareto", "pareto_1m")]
FILES = {"cdnow": "cdnow.csv", "bg_1m": "bg_1m.csv", "pareto_1m": "pareto_1m.csv"}


def retain_log_likelihood(model: type, params: dict, dataset: str) -> float:
    """The total log-likelihood at ``params`` by retain's formula."""
    data = pd.read_csv(RESULTS / FILES[dataset])
    columns = {name: data[name].to_numpy(float) for name in ("frequency", "recency", "T")}
    theta = np.array([params[name] for name in model.param_names])
    return model().total_log_likelihood(theta, columns, np.ones(len(data)))[0]


def relative(first: float, second: float) -> float:
    return abs(first - second) / abs(second)


def fits() -> list[str]:
    lines = [
        "| fit | retain median | lifetimes median | speed-up | LL retain | LL lifetimes | "
        "relative gap | formulas differ by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, dataset in FITS:
        label, model = MODELS[name]
        ours, theirs = load(f"retain_fit_{name}_{dataset}"), load(f"lifetimes_fit_{name}_{dataset}")
        if ours is None or theirs is None:
            continue
        if "error" in theirs:
            lines.append(
                f"| {label}, {dataset} | {ours['median_s']:.3f} s | ConvergenceError: "
                f"{theirs['error']} | - | {ours['log_likelihood']:.6f} | - | - | - |"
            )
            continue
        # Each library's own formula at its own optimum; then each formula at the other's
        # optimum, to show the two formulas are the same function of the same data.
        ll_ours, ll_theirs = ours["log_likelihood"], theirs["log_likelihood"]
        formula_gap = relative(retain_log_likelihood(model, theirs["params"], dataset), ll_theirs)
        at_ours = theirs.get("log_likelihood_at_retain_params")
        if at_ours is not None:
            formula_gap = max(formula_gap, relative(at_ours, ll_ours))
        lines.append(
            f"| {label}, {dataset} | {ours['median_s']:.3f} s | {theirs['median_s']:.3f} s | "
            f"{theirs['median_s'] / ours['median_s']:.0f}x | {ll_ours:.6f} | {ll_theirs:.6f} | "
            f"{(ll_ours - ll_theirs) / abs(ll_theirs):+.1e} | {formula_gap:.0e} |"
        )
    return lines


def predictions() -> list[str]:
    lines = [
        "| P(alive) + expected purchases (52 weeks) | rows | retain | lifetimes | speed-up |",
        "|---|---|---|---|---|",
    ]
    for name, dataset in FITS:
        ours = load(f"retain_predict_{name}_{dataset}")
        theirs = load(f"lifetimes_predict_{name}_{dataset}")
        if ours is None or theirs is None:
            continue
        lines.append(
            f"| {MODELS[name][0]}, {dataset} | {ours['rows']:,} | {ours['median_s']:.3f} s | "
            f"{theirs['median_s']:.3f} s | {theirs['median_s'] / ours['median_s']:.1f}x |"
        )
    return lines


def rfm() -> list[str]:
    ours = load("retain_rfm_10m")
    if ours is None:
        return []
    lines = ["| rfm_summary, 10,000,000 transactions | median | against retain |", "|---|---|---|"]
    lines.append(f"| retain (Ibis on DuckDB) | {ours['median_s']:.2f} s | 1x |")
    for key, label in (
        ("pandas_rfm_10m", "pandas groupby"),
        ("lifetimes_rfm_10m", "lifetimes summary_data_from_transaction_data"),
    ):
        theirs = load(key)
        if theirs:
            lines.append(
                f"| {label} | {theirs['median_s']:.2f} s | "
                f"{theirs['median_s'] / ours['median_s']:.1f}x slower |"
            )
    return lines


def small_panels() -> list[str]:
    sizes = [len(rows) for rows in json.loads((RESULTS / "small_samples.json").read_text())]
    lines = [
        f"| small CDNOW panels ({len(sizes)}), customers | lifetimes fails | retain fits those | "
        "retain fails |",
        "|---|---|---|---|",
    ]
    for name, (label, _) in MODELS.items():
        ours, theirs = load(f"retain_small_{name}"), load(f"lifetimes_small_{name}")
        if ours is None or theirs is None:
            continue
        outcomes = list(zip(sizes, ours["outcomes"], theirs["outcomes"], strict=True))
        for size in [*sorted(set(sizes)), None]:
            chosen = [(o, t) for n, o, t in outcomes if size in (None, n)]
            lines.append(
                f"| {label}, {size or 'all'} | {sum(not t['ok'] for _, t in chosen)} | "
                f"{sum(o['ok'] and not t['ok'] for o, t in chosen)} | "
                f"{sum(not o['ok'] for o, _ in chosen)} |"
            )
    return lines


def main() -> None:
    text = "\n\n".join(
        "\n".join(table) for table in (fits(), predictions(), rfm(), small_panels()) if table
    )
    (RESULTS / "report.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
