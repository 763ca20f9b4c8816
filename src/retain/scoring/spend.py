"""The value of a customer's next orders: Gamma-Gamma where it applies, a stated fallback elsewhere.

Gamma-Gamma (Fader, Hardie & Lee 2005) models a repeat buyer's mean spend as a gamma draw, so
it is fitted on the customers it applies to: repeat buyers whose mean repeat spend is above 0.
Every customer then gets its conditional expectation ``p (v + x m) / (p x + q - 1)``:

* one-time buyers (``x = 0``) get the population mean ``p v / (q - 1)`` (the model itself);
* repeat buyers whose repeat orders were all worth 0 (free samples, fully discounted orders)
  get the same formula with their mean ``m = 0``: the population mean shrunk by the number of
  their free repeat orders. It is the limit of what a customer with a tiny mean spend gets, so
  the value does not jump at 0. They are reported as a :class:`~retain.scoring.notes.Fallback`.

When the model cannot be used (fewer than :data:`MIN_SPEND_BUYERS` repeat buyers with a
mean spend above 0, no convergence, or a fitted ``q <= 1`` that leaves the population mean
infinite), every customer is valued at the observed mean value of a repeat order (total
repeat spend / repeat orders), and that fallback is reported with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retain.errors import ConvergenceError
from retain.scoring.notes import Fallback, fit_with_caveats
from retain.stats import GammaGammaModel

#: The spend model is fitted on at least this many repeat buyers with a mean spend above 0.
MIN_SPEND_BUYERS = 20


@dataclass(frozen=True)
class SpendEstimate:
    """Expected value of each customer's next order, the model behind it and its fallbacks."""

    per_purchase: np.ndarray
    model: GammaGammaModel | None
    fallbacks: tuple[Fallback, ...]
    #: What the fit's optimiser warned about (the estimates are used all the same).
    caveats: tuple[str, ...] = ()


def value_per_purchase(summary: pd.DataFrame) -> SpendEstimate:
    """Expected value of a future order for every row of ``summary`` (``frequency``,
    ``monetary_value``, in days as :func:`retain.analytics.rfm_summary` gives them)."""
    x = summary.frequency.to_numpy(dtype=float)
    m = summary.monetary_value.to_numpy(dtype=float)
    repeat = x > 0
    paid = repeat & (m > 0)
    free = repeat & ~paid
    model, failure, caveats = _fit(summary[paid])
    if model is not None:
        p, q, v = (model.params_[name] for name in ("p", "q", "v"))
        if q <= 1:
            failure = (
                f"the fitted spend model has no finite population mean (q = {q:.3g}, "
                "it must be above 1)"
            )
            model = None
        else:
            # Eq. 5 of Fader, Hardie & Lee (2005) for everyone; m = 0 for the one-time buyers
            # (weight 0) and for repeat buyers whose repeat orders were all free.
            per_purchase = p * (v + x * np.where(paid, m, 0.0)) / (p * x + q - 1.0)
            fallbacks = []
            if free.any():
                fallbacks.append(
                    Fallback(
                        customers=int(free.sum()),
                        scores="lifetime value",
                        reason=(
                            "every repeat order was worth 0, which the spend model "
                            "(Gamma-Gamma) cannot fit; valued by its formula with a mean "
                            f"spend of 0: the population mean of {p * v / (q - 1):,.2f} per "
                            "order, shrunk by their number of repeat orders"
                        ),
                    )
                )
            return SpendEstimate(per_purchase, model, tuple(fallbacks), tuple(caveats))
    repeat_orders = float(x[repeat].sum())
    observed = float((x * m)[repeat].sum() / repeat_orders) if repeat_orders else 0.0
    fallback = Fallback(
        customers=len(summary),
        scores="lifetime value",
        reason=(
            f"the spend model (Gamma-Gamma) was not used: {failure}; every customer is "
            f"valued at the observed mean repeat order of {observed:,.2f}"
        ),
    )
    return SpendEstimate(np.full(len(summary), observed), None, (fallback,))


def _fit(paid: pd.DataFrame) -> tuple[GammaGammaModel | None, str, list[str]]:
    """Gamma-Gamma on the paying repeat buyers (with its caveats), or None and the reason it
    was not fitted."""
    if len(paid) < MIN_SPEND_BUYERS:
        reason = (
            f"it needs at least {MIN_SPEND_BUYERS} repeat buyers whose repeat orders are "
            f"worth more than 0, and there are {len(paid):,}"
        )
        return None, reason, []
    try:
        # A fit that converged with a caveat is still used (and the caveat kept); only a
        # failure falls back.
        model, caveats = fit_with_caveats(
            lambda: GammaGammaModel().fit(paid[["frequency", "monetary_value"]])
        )
    except ConvergenceError as error:
        return None, f"its fit did not converge ({error})", []
    return model, "", caveats
