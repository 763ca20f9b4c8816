"""How much a journey changed what its customers did: the treatment against the holdout,
with 95 % intervals. Pure arithmetic on counts and sums (the report reads them with one
grouped query), so a journey of a million enrolments costs what one of a hundred does.

- Conversion: the difference of two proportions with Newcombe's hybrid score interval
  (Newcombe 1998, "Interval estimation for the difference between independent
  proportions", Statistics in Medicine 17, method 10), built from each group's Wilson score
  interval; it keeps its coverage with few conversions, where the Wald interval fails.
- Revenue per enrolled customer: the difference of two means with Welch's interval
  (unequal variances, Welch-Satterthwaite degrees of freedom), from each group's count, sum
  and sum of squares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

#: The two-sided coverage of every interval.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, trials: int, *, confidence: float = CONFIDENCE) -> Interval:
    """Wilson's score interval for a proportion (Wilson 1927); ``nan`` with no trials."""
    if trials <= 0:
        return Interval(math.nan, math.nan, math.nan)
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return Interval(p, (centre - spread) / scale, (centre + spread) / scale)


def rate_difference(
    treated: tuple[int, int], held: tuple[int, int], *, confidence: float = CONFIDENCE
) -> Interval:
    """The difference of conversion rates, treated minus held out, each given as
    ``(conversions, enrolled)``, with Newcombe's hybrid score interval (method 10)."""
    first, second = wilson(*treated, confidence=confidence), wilson(*held, confidence=confidence)
    if math.isnan(first.estimate) or math.isnan(second.estimate):
        return Interval(math.nan, math.nan, math.nan)
    difference = first.estimate - second.estimate
    below = math.hypot(first.estimate - first.low, second.high - second.estimate)
    above = math.hypot(first.high - first.estimate, second.estimate - second.low)
    return Interval(difference, difference - below, difference + above)


@dataclass(frozen=True)
class Moments:
    """A group's count, sum and sum of squares of one value per customer."""

    count: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan

    @property
    def variance(self) -> float:
        """The sample variance (``n - 1``); 0 for a single customer."""
        if self.count < 2:
            return 0.0
        return max(self.squares - self.total * self.total / self.count, 0.0) / (self.count - 1)


def mean_difference(treated: Moments, held: Moments, *, confidence: float = CONFIDENCE) -> Interval:
    """The difference of means, treated minus held out, with Welch's interval."""
    if treated.count == 0 or held.count == 0:
        return Interval(math.nan, math.nan, math.nan)
    difference = treated.mean - held.mean
    a, b = treated.variance / treated.count, held.variance / held.count
    error = math.sqrt(a + b)
    if error == 0:
        return Interval(difference, difference, difference)
    freedom_parts = (a * a / (treated.count - 1) if treated.count > 1 else 0) + (
        b * b / (held.count - 1) if held.count > 1 else 0
    )
    freedom = (a + b) ** 2 / freedom_parts if freedom_parts > 0 else math.inf
    t = (
        stats.t.ppf(0.5 + confidence / 2, freedom)
        if math.isfinite(freedom)
        else (stats.norm.ppf(0.5 + confidence / 2))
    )
    return Interval(difference, difference - t * error, difference + t * error)
