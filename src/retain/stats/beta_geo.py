"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting your customers the
easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2))."""

from __future__ import annotations

from typing import ClassVar

from retain.stats._beta_geo_family import BetaGeoFamily


class BetaGeoModel(BetaGeoFamily):
    """BG/NBD: Poisson purchases; after each repeat purchase the customer may drop out.

    Parameters (``params_``) are ``r, alpha`` (purchase rate ``~ Gamma(r, alpha)``) and
    ``a, b`` (dropout probability ``~ Beta(a, b)``), as in Fader, Hardie & Lee (2005).

    ``fit(data)`` reads ``frequency`` (repeat purchases ``x``), ``recency`` (``t_x``, time of
    the last repeat purchase since the first) and ``T`` (time since the first purchase), with
    an optional ``weight``. A customer with no repeat purchase has never had the chance to
    drop out, so ``probability_alive`` is 1 for them: use :class:`ModifiedBetaGeoModel` when
    that is implausible.

    Examples
    --------
    >>> model = BetaGeoModel().fit(summary)  # doctest: +SKIP
    >>> model.expected_purchases(summary, t=13)  # doctest: +SKIP
    """

    _extra_tosses: ClassVar[int] = 0
