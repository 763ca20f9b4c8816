"""What scoring tells its reader besides the scores: fallbacks taken, and models refused.

A score computed some other way than the fitted models is never silent: each such way is a
:class:`Fallback` on the result (how many customers, which scores, why), which ``retain
analyze`` prints and the report shows. When the models cannot be fitted at all,
:class:`ModelsRefused` says why, with the threshold that was not met.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from retain.errors import ConvergenceWarning, DataError

T = TypeVar("T")


@dataclass(frozen=True)
class Fallback:
    """Customers whose ``scores`` were not the fitted model's prediction, and why.

    Attributes
    ----------
    customers
        How many customers got the fallback.
    scores
        Which scores it affects, in words ("lifetime value", "every model score").
    reason
        Why, and what was used instead, in words a manager reads.
    """

    customers: int
    scores: str
    reason: str

    @property
    def message(self) -> str:
        """One line: the scores, the count and the reason."""
        noun = "customer" if self.customers == 1 else "customers"
        which = self.scores[:1].upper() + self.scores[1:]
        return f"{which} of {self.customers:,} {noun}: {self.reason}"

    def __str__(self) -> str:
        return self.message


class ModelsRefused(DataError):
    """The orders cannot support the purchase models (too short a window, too few repeat
    buyers, or no model converged): nothing model-based can be scored.

    The analyses that need no model (cohorts, RFM, lifecycle) still apply; ``retain
    analyze`` produces them and says why the model scores are empty.
    """

    code = "models_refused"


def fit_with_caveats(fit: Callable[[], T]) -> tuple[T, list[str]]:
    """Run ``fit`` and return its result with the caveats its optimiser raised.

    A :class:`~retain.errors.ConvergenceWarning` (e.g. standard errors that cannot be
    computed) does not stop scoring: the point estimates are used. It becomes a line of the
    scoring result instead of a Python warning printed with a file path; other warnings pass
    through unchanged.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit()
    caveats = []
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            caveats.append(f"{warning.message}; its estimates are used")
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return result, caveats
