"""Customer-base models: repeat buying, dropout, spend and retention (numpy/scipy only).

Each model is fitted by maximum likelihood with ``fit(data)`` and predicts with vectorised
methods that return numpy arrays; see ``docs/stats.md`` for the papers and the API.
"""

from retain.stats._base import FitResult
from retain.stats._validation import distinct_rows
from retain.stats.beta_geo import BetaGeoModel
from retain.stats.beta_geo_beta_binom import BetaGeoBetaBinomModel
from retain.stats.clv import customer_lifetime_value, discounted_expected_purchases
from retain.stats.gamma_gamma import GammaGammaModel
from retain.stats.modified_beta_geo import ModifiedBetaGeoModel
from retain.stats.pareto_nbd import ParetoNBDModel
from retain.stats.shifted_beta_geo import ShiftedBetaGeoModel

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "FitResult",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "distinct_rows",
]
