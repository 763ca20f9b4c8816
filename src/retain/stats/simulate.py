"""Draw customers from each model's generative story, with a fixed seed.

Used for parameter-recovery tests, benchmarks and the synthetic demo business. Each function
returns a dict of numpy arrays with the columns the matching model's ``fit`` reads.
"""

from __future__ import annotations

import numpy as np

Table = dict[str, np.ndarray]


def _ages(n: int, T: float | np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()


def _last_of_uniform_arrivals(
    rng: np.random.Generator, count: np.ndarray, window: np.ndarray
) -> np.ndarray:
    """Time of the ``count``-th arrival of a Poisson process seen over ``window``.

    Given that the process has ``count`` arrivals in ``[0, window]`` they are uniform order
    statistics, so the last one is ``window * Beta(count, 1)``.
    """
    last = np.zeros_like(window)
    some = count > 0
    last[some] = window[some] * rng.beta(count[some], 1.0)
    return last


def simulate_beta_geo(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | np.ndarray,
    seed: int = 0,
) -> Table:
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson buying at rate lambda ~ Gamma(r, alpha);
    after each repeat purchase the customer drops out with probability p ~ Beta(a, b)."""
    rng = np.random.default_rng(seed)
    ages = _ages(n_customers, T)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout = rng.beta(a, b, n_customers)
    purchases_before_dropout = rng.geometric(dropout)  # the k-th repeat purchase is the last
    in_window = rng.poisson(rate * ages)
    frequency = np.minimum(in_window, purchases_before_dropout)
    # The x-th of N(T) uniform arrivals on [0, T] is T * Beta(x, N - x + 1).
    recency = np.zeros(n_customers)
    some = frequency > 0
    recency[some] = ages[some] * rng.beta(frequency[some], in_window[some] - frequency[some] + 1)
    return {"frequency": frequency.astype(float), "recency": recency, "T": ages}


def simulate_modified_beta_geo(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | np.ndarray,
    seed: int = 0,
) -> Table:
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but the customer may also
    drop out right after the first purchase."""
    rng = np.random.default_rng(seed)
    ages = _ages(n_customers, T)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout = rng.beta(a, b, n_customers)
    purchases_before_dropout = rng.geometric(dropout) - 1
    in_window = rng.poisson(rate * ages)
    frequency = np.minimum(in_window, purchases_before_dropout)
    recency = np.zeros(n_customers)
    some = frequency > 0
    recency[some] = ages[some] * rng.beta(frequency[some], in_window[some] - frequency[some] + 1)
    return {"frequency": frequency.astype(float), "recency": recency, "T": ages}


def simulate_pareto_nbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: float | np.ndarray,
    seed: int = 0,
) -> Table:
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson buying at rate
    lambda ~ Gamma(r, alpha) during an exponential lifetime with rate mu ~ Gamma(s, beta)."""
    rng = np.random.default_rng(seed)
    ages = _ages(n_customers, T)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    death_rate = rng.gamma(s, 1.0 / beta, n_customers)
    lifetime = rng.exponential(1.0 / death_rate)
    window = np.minimum(lifetime, ages)
    frequency = rng.poisson(rate * window)
    recency = _last_of_uniform_arrivals(rng, frequency, window)
    return {"frequency": frequency.astype(float), "recency": recency, "T": ages}


def simulate_beta_geo_beta_binom(
    n_customers: int,
    *,
    alpha: float,
    beta: float,
    gamma: float,
    delta: float,
    periods: int,
    seed: int = 0,
) -> Table:
    """Discrete BG/BB (Fader, Hardie & Shang 2010): at each of ``periods`` opportunities an
    alive customer buys with probability p ~ Beta(alpha, beta); before each opportunity an
    alive customer dies with probability theta ~ Beta(gamma, delta)."""
    rng = np.random.default_rng(seed)
    buy = rng.beta(alpha, beta, n_customers)
    die = rng.beta(gamma, delta, n_customers)
    periods_alive = np.minimum(rng.geometric(die) - 1, periods)
    opportunity = np.arange(1, periods + 1)
    bought = (rng.random((n_customers, periods)) < buy[:, None]) & (
        opportunity[None, :] <= periods_alive[:, None]
    )
    frequency = bought.sum(axis=1)
    recency = np.where(frequency > 0, periods - np.argmax(bought[:, ::-1], axis=1), 0)
    return {
        "frequency": frequency.astype(float),
        "recency": recency.astype(float),
        "periods": np.full(n_customers, float(periods)),
    }


def simulate_gamma_gamma(
    frequency: np.ndarray, *, p: float, q: float, v: float, seed: int = 0
) -> Table:
    """Gamma-Gamma spend (Fader, Hardie & Lee 2005b): each transaction's value ~ Gamma(p, nu)
    with nu ~ Gamma(q, v) per customer; returns the mean value of each customer's
    ``frequency`` transactions (customers with frequency 0 get 0 and should not be fitted)."""
    rng = np.random.default_rng(seed)
    frequency = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1.0 / v, len(frequency))
    some = frequency > 0
    monetary = np.zeros(len(frequency))
    # The sum of x Gamma(p, nu) values is Gamma(p x, nu); its mean is that divided by x.
    monetary[some] = rng.gamma(p * frequency[some], 1.0 / nu[some]) / frequency[some]
    return {"frequency": frequency, "monetary_value": monetary}


def simulate_shifted_beta_geo(
    n_customers: int, *, alpha: float, beta: float, periods: int, seed: int = 0
) -> Table:
    """sBG (Fader & Hardie 2007): each customer churns at the end of a period with
    probability theta ~ Beta(alpha, beta). Returns ``duration`` (the period of churn, or
    ``periods`` when still subscribed) and ``churned`` (1 if churn was observed)."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n_customers)
    lifetime = rng.geometric(theta)
    churned = lifetime <= periods
    return {
        "duration": np.minimum(lifetime, periods).astype(float),
        "churned": churned.astype(float),
    }
