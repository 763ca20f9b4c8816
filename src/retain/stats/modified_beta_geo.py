"""The MBG/NBD model of repeat buying (Batislam, Denizel & Filiztekin 2007, "Empirical
validation and comparison of models for customer base analysis", IJRM 24(3))."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from retain.stats._beta_geo_family import BetaGeoFamily


class ModifiedBetaGeoModel(BetaGeoFamily):
    """MBG/NBD: as BG/NBD, but the customer may also drop out right after the first purchase.

    Parameters (``params_``) are ``r, alpha`` (purchase rate ``~ Gamma(r, alpha)``) and
    ``a, b`` (dropout probability per purchase ``~ Beta(a, b)``). Reads the same columns as
    :class:`BetaGeoModel`. Customers with no repeat purchase get a ``probability_alive``
    below 1, which the BG/NBD cannot give them.

    Examples
    --------
    >>> model = ModifiedBetaGeoModel().fit(summary)  # doctest: +SKIP
    >>> model.probability_alive(summary)  # doctest: +SKIP
    """

    _extra_tosses: ClassVar[int] = 1

    def _log_p_active_at_start(self) -> float:
        """Survived the toss at the first purchase: ``E[1 - p] = b / (a + b)``."""
        _, _, a, b = self._fitted_params()
        return float(np.log(b) - np.log(a + b))
