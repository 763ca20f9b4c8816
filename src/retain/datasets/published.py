"""Published estimates for the reference data sets: what retain.stats must reproduce.

Sources: Fader, Hardie & Lee (2005) for BG/NBD, Pareto/NBD and Gamma-Gamma on the CDNOW sample
(calibration to 1997-09-30, weeks); Batislam, Denizel & Filiztekin (2007) for MBG/NBD; Fader,
Hardie & Shang (2010) for BG/BB on the donations; Fader & Hardie (2007) for sBG.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Published:
    model: str
    data: str
    params: dict[str, float]
    log_likelihood: float | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


CDNOW_HOLDOUT_REPEAT_PURCHASES = 1882

BETA_GEO = Published(
    "BG/NBD", "CDNOW sample", {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}, -9582.43
)
PARETO_NBD = Published(
    "Pareto/NBD",
    "CDNOW sample",
    {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.66},
    -9594.98,
    note="beta is weakly identified: 11.65-11.67 at the same log-likelihood",
)
MODIFIED_BETA_GEO = Published(
    "MBG/NBD", "CDNOW sample", {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
)
GAMMA_GAMMA = Published(
    "Gamma-Gamma", "CDNOW repeaters", {"p": 6.25, "q": 3.74, "v": 15.44}, -4055.9
)
BETA_GEO_BETA_BINOM = Published(
    "BG/BB",
    "donations",
    {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783},
    -33225.58,
)
SHIFTED_BETA_GEO_HIGH_END = Published("sBG", "high end", {"alpha": 0.668, "beta": 3.806})
SHIFTED_BETA_GEO_REGULAR = Published("sBG", "regular", {"alpha": 0.704, "beta": 1.182})
