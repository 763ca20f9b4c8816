"""Special functions the closed forms of the customer-base models need, in log space.

Three pieces, all vectorised:

``log_hyp2f1_one(b, c, z)``
    ``log 2F1(1, b; c; z)`` for ``0 <= z < 1`` and ``0 < b <= c``, with its derivatives with
    respect to ``b``, ``c`` and ``z``, which have no closed form. Two exact representations
    are used, each where it converges fast:

    * the power series ``sum_k (b)_k / (c)_k z^k`` for small ``z``. Its terms are positive
      with ratio ``(b + k) / (c + k) z <= z``: no overflow (the sum lies in
      ``[1, 1 / (1 - z)]``), and the tail after ``K`` terms is below ``z^K / (1 - z)`` of the
      sum, so ``K`` follows from ``z``. Differentiated term by term, the parameter
      derivatives are the same series weighted by digamma differences
      ``psi(b + k) - psi(b)``, written out as running sums of reciprocals.
    * Gauss's continued fraction ``1 / (1 - k_1 z / (1 - k_2 z / (1 - ...)))`` (DLMF
      15.7.5 with ``b -> 0``) for larger ``z``: its coefficients are positive and tend to
      1/4, so its error falls like ``rho^M`` with ``rho = (1 - sqrt(1-z)) / (1 + sqrt(1-z))``,
      against ``z^K`` for the series (z = 0.99: some 190 levels instead of 4,000 terms). The
      derivatives are carried through the backward recurrence (forward-mode
      differentiation of an exact representation).

    Rows that share ``(b, c)`` (the likelihood groups customers by frequency) share the
    coefficients, computed once per group and evaluated per row (Horner for the series).

``log_pareto_tail_integral(t, p, q, alpha, beta)``
    ``log J`` with ``J = int_t^inf (alpha + u)^-p (beta + u)^-q du`` (``p + q > 1``), the
    building block of the Pareto/NBD likelihood, with derivatives in all four parameters.
    Substituting ``y = (alpha - beta) / (alpha + u)`` and Euler's transformation give
    ``J = (alpha + t)^-p (beta + t)^(1 - q) / (p + q - 1) * 2F1(1, p; p + q; z)``,
    ``z = (alpha - beta) / (alpha + t)`` when ``alpha >= beta`` (swap the roles of
    ``(alpha, p)`` and ``(beta, q)`` otherwise), so ``z`` stays in ``[0, 1)``. This is the
    ``2F1(r + s + x, s + 1; r + s + x + 1; .)`` term of Fader & Hardie (2005, eq. 22) after
    Euler's transformation ``2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z)``.

``gauss_jacobi(n_nodes, power)``
    Nodes and normalised weights of Gauss-Jacobi quadrature on ``[-1, 1]`` for the weight
    ``(1 + x)^power`` (Golub-Welsch), without the overflow of the unnormalised weights that
    ``scipy.special.roots_jacobi`` returns for large powers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy import linalg

# Relative accuracy asked of the series and the continued fraction: double precision.
_TOLERANCE = 1e-16
# Rows whose series needs at most this many terms use it; the others the continued fraction.
SERIES_MAX_TERMS = 32
# Continued-fraction depth is capped here, which bounds the cost of an evaluation: the
# fraction is exact to double precision for z up to 1 - 2e-5 (one time scale 50,000 times
# the other); beyond, it is truncated. Such points are only met in an optimiser's trial
# steps, and there an S-fraction's truncation still lies between its neighbouring
# approximants: finite, of the right size, and far from any maximum.
MAX_FRACTION_DEPTH = 1 << 12
# Rows evaluated together: the per-row coefficient arrays of a chunk stay in the CPU cache.
_CHUNK = 1 << 11
# Rows of the tail integral computed together.
_ROW_CHUNK = 1 << 16
# Most continued-fraction coefficients (levels x rows) expanded at once.
_FRACTION_CELLS = 1 << 18


class LogHyp2F1(NamedTuple):
    """``log 2F1(1, b; c; z)`` and its partial derivatives (``None`` when not asked for)."""

    value: np.ndarray
    d_b: np.ndarray | None
    d_c: np.ndarray | None
    d_z: np.ndarray | None


class LogTailIntegral(NamedTuple):
    """``log int_t^inf (alpha + u)^-p (beta + u)^-q du`` and its partial derivatives."""

    value: np.ndarray
    d_p: np.ndarray | None
    d_q: np.ndarray | None
    d_alpha: np.ndarray | None
    d_beta: np.ndarray | None


def series_terms_needed(z: np.ndarray, tolerance: float = _TOLERANCE) -> np.ndarray:
    """Terms of ``sum_k (b)_k/(c)_k z^k`` after which value and derivatives are converged.

    The tail of the ``k``-weighted sum (the ``z`` derivative) is below
    ``K z^K / (1 - z)^2``; solving ``K z^K / (1 - z)^2 = tolerance`` once with ``K`` on the
    right taken from the unweighted bound gives a safe count.
    """
    z = np.asarray(z, dtype=float)
    terms = np.zeros(z.shape, dtype=np.int64)
    positive = z > 0
    zp = np.minimum(z[positive], 1.0 - 1e-16)
    log_z = np.log(zp)
    target = np.log(tolerance) + 2.0 * np.log1p(-zp)
    first = np.maximum(target / log_z, 1.0)
    needed = np.ceil((target - np.log1p(first)) / log_z) + 1.0
    terms[positive] = np.minimum(needed, np.iinfo(np.int32).max).astype(np.int64)
    return terms


def fraction_depth_needed(z: float, tolerance: float = _TOLERANCE) -> int:
    """Levels of Gauss's continued fraction for ``2F1(1, b; c; z)`` to reach ``tolerance``.

    The coefficients tend to 1/4, so the truncation error shrinks by
    ``rho = (1 - sqrt(1 - z)) / (1 + sqrt(1 - z))`` per level; a few levels more cover the
    first coefficients, which may be larger.
    """
    if z <= 0.0:
        return 1
    root = np.sqrt(max(1.0 - z, 0.0))
    rho = (1.0 - root) / (1.0 + root)
    if rho >= 1.0:
        return MAX_FRACTION_DEPTH
    return int(min(np.ceil(np.log(tolerance) / np.log(rho)) + 4, MAX_FRACTION_DEPTH))


def _series_table(b: np.ndarray, c: np.ndarray, n_terms: int, gradient: bool) -> np.ndarray:
    """Coefficients of the series and of its derivatives, shape ``(n_terms + 1, m, groups)``.

    Row ``k`` holds ``a_k = (b)_k / (c)_k`` and, with ``gradient``, ``a_k (psi(b+k) - psi(b))``,
    ``a_k (psi(c+k) - psi(c))`` and ``(k+1) a_{k+1}`` (the coefficient of ``z^k`` in the
    derivative): four polynomials in ``z`` that share one Horner pass.
    """
    # At least one term: the derivative polynomial's constant is a_1 = b / c, needed at z = 0.
    n_terms = max(n_terms, 1)
    k = np.arange(n_terms, dtype=float)[:, None]
    b_k, c_k = b[None, :] + k, c[None, :] + k
    coefficients = np.ones((n_terms + 1, b.size))
    np.cumprod(b_k / c_k, axis=0, out=coefficients[1:])
    if not gradient:
        return coefficients[:, None, :]
    table = np.zeros((n_terms + 1, 4, b.size))
    table[:, 0] = coefficients
    table[1:, 1] = coefficients[1:] * np.cumsum(1.0 / b_k, axis=0)
    table[1:, 2] = coefficients[1:] * np.cumsum(1.0 / c_k, axis=0)
    table[:-1, 3] = (k + 1.0) * coefficients[1:]
    return table


def _fraction_table(b: np.ndarray, c: np.ndarray, depth: int, gradient: bool) -> np.ndarray:
    """Coefficients ``k_m`` of Gauss's continued fraction, shape ``(depth, m, groups)``.

    For ``2F1(1, b; c; z)`` write ``P = b``, ``S = c`` (DLMF 15.7.5 with ``a = P``,
    ``b = 0``, ``c = S - 1``): ``k_{2n+1} = (P+n)(S-1+n) / ((S-1+2n)(S+2n))`` and
    ``k_{2n+2} = (n+1)(S-P+n) / ((S+2n)(S+1+2n))``. With ``gradient`` the table also holds
    ``d log k_m / d b`` and ``d log k_m / d c``.
    """
    m = np.arange(1, depth + 1, dtype=float)[:, None]
    n = np.floor((m - 1.0) / 2.0)
    odd = (m % 2.0) == 1.0
    P, S = b[None, :], c[None, :]
    first = np.where(odd, P + n, n + 1.0)
    second = np.where(odd, S - 1.0 + n, S - P + n)
    low = np.where(odd, S - 1.0 + 2.0 * n, S + 2.0 * n)
    high = low + 1.0
    table = np.empty((depth, 3 if gradient else 1, b.size))
    table[:, 0] = first * second / (low * high)
    if gradient:
        # b moves P (in `first` of odd levels, in `second` of even ones with sign -1);
        # c moves S in `second`, `low` and `high`.
        shared = 1.0 / second
        table[:, 1] = np.where(odd, 1.0 / first, -shared)
        table[:, 2] = shared - 1.0 / low - 1.0 / high
    return table


def _expand(table: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``table[..., group]`` as a contiguous array (a copy by repeat when groups are sorted)."""
    if group.size > 1 and np.all(group[1:] >= group[:-1]):
        low = group[0]
        counts = np.bincount(group - low)
        return np.repeat(table[..., low : low + counts.size], counts, axis=-1)
    return np.take(table, group, axis=-1)


def _horner(table: np.ndarray, group: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Evaluate the polynomials of ``table`` (one column per group) at each row's ``z``."""
    mine = _expand(table, group)  # (terms, width, rows)
    accumulator = mine[-1]
    for k in range(mine.shape[0] - 2, -1, -1):
        accumulator *= z
        accumulator += mine[k]
    return accumulator


def _continued_fraction(table: np.ndarray, group: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Evaluate the continued fraction backwards, carrying derivatives (forward mode).

    With ``f_M = 1`` and ``f_{m-1} = 1 - g_m``, ``g_m = k_m z / f_m``, the function is
    ``1 / f_0``; ``d f_{m-1} = -g_m (d log k_m - d f_m / f_m)`` for the parameters and
    ``-(k_m - g_m d f_m) / f_m`` for ``z``. Returns rows ``F, F d_b, -F d_c, F d_z`` (the
    series' convention) or only ``F``.
    """
    depth, width = table.shape[:2]
    gradient = width == 3
    # Shallow fractions get every row's coefficients at once; deep ones level by level.
    mine = _expand(table, group) if depth * width * z.size <= _FRACTION_CELLS else None
    f = np.ones(z.size)
    d_params = np.zeros((2, z.size)) if gradient else None
    d_z = np.zeros(z.size) if gradient else None
    inverse = np.empty(z.size)
    g = np.empty(z.size)
    for m in range(depth - 1, -1, -1):
        level = mine[m] if mine is not None else np.take(table[m], group, axis=-1)
        k = level[0]
        np.divide(1.0, f, out=inverse)
        np.multiply(k, z, out=g)
        g *= inverse
        if gradient:
            # d_params <- -g (dlog k - d_params / f)
            d_params *= inverse
            np.subtract(level[1:], d_params, out=d_params)
            d_params *= -g
            # d_z <- -(k - g d_z) / f
            d_z *= g
            np.subtract(d_z, k, out=d_z)
            d_z *= inverse
        np.subtract(1.0, g, out=f)
    total = 1.0 / f
    if not gradient:
        return total[None, :]
    # d log F = -d f_0 / f_0; F d log F = -d f_0 / f_0^2.
    scale = -total * total
    return np.stack([total, d_params[0] * scale, -d_params[1] * scale, d_z * scale])


def _log_hyp2f1_sums(
    b: np.ndarray, c: np.ndarray, group: np.ndarray, z: np.ndarray, *, gradient: bool
) -> np.ndarray:
    """Rows ``F, F d_b, -F d_c, F d_z`` (or ``F``) for every row of ``z``."""
    sums = np.empty((4 if gradient else 1, z.size))
    for start in range(0, z.size, _CHUNK):
        rows = slice(start, start + _CHUNK)
        zz, codes = z[rows], group[rows]
        if b.size > _CHUNK:
            # Many groups (every row its own, say): tables only for those in the chunk,
            # renumbered (which keeps sorted codes sorted).
            present, codes = np.unique(codes, return_inverse=True)
            codes = codes.reshape(-1)
        else:
            present = np.arange(b.size)
        z_max = float(zz.max(initial=0.0))
        n_terms = int(series_terms_needed(np.array([z_max]))[0])
        if n_terms <= SERIES_MAX_TERMS:
            table = _series_table(b[present], c[present], n_terms, gradient)
            sums[:, rows] = _horner(table, codes, zz)
            continue
        # Mixed chunk: small z by series, the rest by continued fraction of the depth its
        # largest z needs.
        small = series_terms_needed(zz) <= SERIES_MAX_TERMS
        if small.any():
            at = np.flatnonzero(small)
            table = _series_table(b[present], c[present], SERIES_MAX_TERMS, gradient)
            sums[:, start + at] = _horner(table, codes[at], zz[at])
        at = np.flatnonzero(~small)
        depth = fraction_depth_needed(float(zz[at].max()))
        used, at_codes = np.unique(codes[at], return_inverse=True)
        at_codes = at_codes.reshape(-1)
        # The table holds depth x groups coefficients: when that is too much (z near 1 with
        # many distinct groups), rows go in pieces with fewer groups each.
        piece = at.size if depth * used.size <= _FRACTION_CELLS else _FRACTION_CELLS // depth
        for first in range(0, at.size, max(piece, 1)):
            part = slice(first, first + max(piece, 1))
            part_used, part_codes = np.unique(at_codes[part], return_inverse=True)
            chosen = present[used[part_used]]
            table = _fraction_table(b[chosen], c[chosen], depth, gradient)
            sums[:, start + at[part]] = _continued_fraction(
                table, part_codes.reshape(-1), zz[at[part]]
            )
    return sums


def log_hyp2f1_one(
    b: np.ndarray | float,
    c: np.ndarray | float,
    z: np.ndarray | float,
    *,
    gradient: bool = True,
    group: np.ndarray | None = None,
) -> LogHyp2F1:
    """Natural log of the Gauss hypergeometric function ``2F1(1, b; c; z)``.

    Valid for ``0 <= z < 1`` and ``0 < b <= c`` (the series terms then decrease
    geometrically and the continued fraction's coefficients are positive).

    Parameters
    ----------
    b, c, z
        Broadcastable arrays, or with ``group`` 1-D arrays of the distinct ``(b, c)`` pairs.
    gradient
        Also return ``d log F / d b``, ``d log F / d c`` and ``d log F / d z``.
    group
        Optional integer array shaped like ``z``: row ``i`` uses ``b[group[i]]`` and
        ``c[group[i]]``. Rows that share ``(b, c)`` share the coefficients, which are then
        computed once per group. Sorted codes are cheapest.

    Returns
    -------
    LogHyp2F1
        Arrays shaped like ``z`` (or the broadcast shape without ``group``).
    """
    if group is None:
        b, c, z = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(b, c, z))
        shape = z.shape
        if b.size and np.ptp(b) == 0 and np.ptp(c) == 0:
            group = np.zeros(z.size, dtype=np.intp)  # one (b, c) for every row
            b, c = b.ravel()[:1], c.ravel()[:1]
        else:
            b, c = b.ravel(), c.ravel()
            group = np.arange(z.size)
    else:
        b = np.atleast_1d(np.asarray(b, dtype=float))
        c = np.atleast_1d(np.asarray(c, dtype=float))
        z = np.asarray(z, dtype=float)
        shape = z.shape
        group = np.asarray(group, dtype=np.intp).ravel()
    sums = _log_hyp2f1_sums(b, c, group, z.ravel(), gradient=gradient)
    total = sums[0]
    value = np.log(total).reshape(shape)
    if not gradient:
        return LogHyp2F1(value, None, None, None)
    return LogHyp2F1(
        value,
        (sums[1] / total).reshape(shape),
        (-sums[2] / total).reshape(shape),
        (sums[3] / total).reshape(shape),
    )


def log_pareto_tail_integral(
    t: np.ndarray | float,
    p: np.ndarray | float,
    q: np.ndarray | float,
    alpha: float,
    beta: float,
    *,
    gradient: bool = True,
    group: np.ndarray | None = None,
) -> LogTailIntegral:
    """``log int_t^inf (alpha + u)^-p (beta + u)^-q du`` for ``t >= 0``, ``p + q > 1``.

    Parameters
    ----------
    t, p, q
        Broadcastable arrays, ``p, q > 0``; with ``group``, ``p`` and ``q`` are scalars or
        1-D arrays indexed by ``group`` and ``t`` is shaped like ``group``.
    alpha, beta
        Positive scalars.
    gradient
        Also return the derivatives of the log with respect to ``p, q, alpha, beta``.
    group
        Optional integer codes: row ``i`` uses ``p[group[i]]``, ``q[group[i]]`` (see
        :func:`log_hyp2f1_one`; rows of a group share the series coefficients).

    Notes
    -----
    With ``(a, b, P, Q)`` equal to ``(alpha, beta, p, q)`` when ``alpha >= beta`` and to
    ``(beta, alpha, q, p)`` otherwise (the integral is symmetric in the two pairs),
    ``J = (a + t)^-P (b + t)^(1 - Q) / (P + Q - 1) * 2F1(1, P; P + Q; (a - b) / (a + t))``.
    At ``alpha == beta`` the hypergeometric factor is 1 and both branches agree, values and
    derivatives, so the function is smooth across ``alpha == beta``.
    """
    alpha, beta = float(alpha), float(beta)
    t = np.asarray(t, dtype=float)
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    swap = alpha < beta
    big, small = (beta, alpha) if swap else (alpha, beta)
    p_big, q_small = (q, p) if swap else (p, q)
    if group is None:
        parts = _tail_integral_oriented(t, p_big, q_small, big, small, None, gradient)
    else:
        group = np.asarray(group, dtype=np.intp).ravel()
        p_big, q_small = np.broadcast_arrays(np.atleast_1d(p_big), np.atleast_1d(q_small))
        t = t.ravel()
        # Rows in chunks: the dozen temporaries stay small (in cache, and no fresh memory
        # to fault in on a first call with millions of rows).
        parts = tuple(np.empty(t.size) for _ in range(5 if gradient else 1))
        for start in range(0, t.size, _ROW_CHUNK):
            rows = slice(start, start + _ROW_CHUNK)
            done = _tail_integral_oriented(
                t[rows], p_big, q_small, big, small, group[rows], gradient
            )
            for whole, part in zip(parts, done, strict=True):
                whole[rows] = part
    if not gradient:
        return LogTailIntegral(parts[0], None, None, None, None)
    value, d_p_big, d_q_small, d_big, d_small = parts
    if swap:
        return LogTailIntegral(value, d_q_small, d_p_big, d_small, d_big)
    return LogTailIntegral(value, d_p_big, d_q_small, d_big, d_small)


def _tail_integral_oriented(
    t: np.ndarray,
    p_big: np.ndarray,
    q_small: np.ndarray,
    big: float,
    small: float,
    group: np.ndarray | None,
    gradient: bool,
) -> tuple[np.ndarray, ...]:
    """``log J`` (and derivatives in ``p_big, q_small, big, small``) with ``big >= small``.

    ``p_big`` is the exponent on ``(big + u)``; with ``group`` the exponents are per group.
    """
    if group is None:
        series_b, series_c = p_big, p_big + q_small
    else:
        series_b, series_c = p_big, p_big + q_small
        p_big, q_small = p_big[group], q_small[group]  # per-row exponents
    big_t, small_t = big + t, small + t
    z = (big - small) / big_t
    log_big_t, log_small_t = np.log(big_t), np.log(small_t)
    exponent = p_big + q_small - 1.0
    series = log_hyp2f1_one(series_b, series_c, z, gradient=gradient, group=group)
    value = -p_big * log_big_t + (1.0 - q_small) * log_small_t - np.log(exponent) + series.value
    if not gradient:
        return (value,)
    d_p_big = -log_big_t - 1.0 / exponent + series.d_b + series.d_c
    d_q_small = -log_small_t - 1.0 / exponent + series.d_c
    d_big = -p_big / big_t + series.d_z * small_t / big_t**2
    d_small = (1.0 - q_small) / small_t - series.d_z / big_t
    return value, d_p_big, d_q_small, d_big, d_small


@lru_cache(maxsize=256)
def _gauss_jacobi_cached(n_nodes: int, power: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(n_nodes, dtype=float)
    # Three-term recurrence of the monic Jacobi polynomials for the weight (1 + x)^power
    # (Jacobi parameters a = 0, b = power): diagonal b^2 / ((2k+b)(2k+b+2)) ...
    width = 2.0 * k + power
    with np.errstate(invalid="ignore", divide="ignore"):
        diagonal = power**2 / (width * (width + 2.0))
    diagonal[0] = power / (power + 2.0)
    # ... and off-diagonal sqrt(4 k^2 (k+b)^2 / ((2k+b)^2 ((2k+b)^2 - 1))) for k >= 1.
    kk = k[1:]
    w = 2.0 * kk + power
    off = np.sqrt(4.0 * kk**2 * (kk + power) ** 2 / (w**2 * (w**2 - 1.0)))
    nodes, vectors = linalg.eigh_tridiagonal(diagonal, off)
    weights = vectors[0] ** 2
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights / weights.sum()


def gauss_jacobi(n_nodes: int, power: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi rule for ``int_{-1}^{1} (1 + x)^power f(x) dx``, weights summing to 1.

    Multiply the weighted sum by ``2^(power + 1) / (power + 1)`` (the integral of the weight)
    to get the integral itself; keeping it apart avoids overflow for large ``power``.
    Exact for polynomials ``f`` of degree below ``2 * n_nodes``.
    """
    return _gauss_jacobi_cached(int(n_nodes), float(power))
