"""The special functions behind the Pareto/NBD, checked against scipy and direct quadrature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from retain.stats._special import (
    MAX_FRACTION_DEPTH,
    _continued_fraction,
    _fraction_table,
    _horner,
    _series_table,
    fraction_depth_needed,
    gauss_jacobi,
    log_hyp2f1_one,
    log_pareto_tail_integral,
    series_terms_needed,
)


def ordinary_arguments(n: int = 400, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    b = rng.uniform(0.05, 30.0, n)
    c = b + rng.uniform(0.01, 30.0, n)
    z = rng.uniform(0.0, 0.97, n)
    return b, c, z


def test_log_hyp2f1_one_matches_scipy_row_by_row() -> None:
    b, c, z = ordinary_arguments()
    result = log_hyp2f1_one(b, c, z)
    np.testing.assert_allclose(result.value, np.log(special.hyp2f1(1.0, b, c, z)), atol=1e-13)


def test_log_hyp2f1_one_matches_scipy_when_rows_share_parameters() -> None:
    # Shared coefficient tables and one group per row agree with scipy, on both methods,
    # including rows with z near 1 that need hundreds of terms and z = 0 exactly.
    rng = np.random.default_rng(1)
    b_groups = np.array([0.3, 1.6, 12.0, 250.0])
    c_groups = b_groups + np.array([0.2, 2.5, 0.7, 40.0])
    group = rng.integers(0, 4, 3000)
    z = np.concatenate([rng.uniform(0.0, 0.99, 2990), np.zeros(5), np.full(5, 0.995)])
    grouped = log_hyp2f1_one(b_groups, c_groups, z, group=group)
    per_row = log_hyp2f1_one(b_groups[group], c_groups[group], z)
    reference = np.log(special.hyp2f1(1.0, b_groups[group], c_groups[group], z))
    # scipy returns NaN for b = 250 near z = 1; those rows are checked against quadrature.
    known = np.isfinite(reference)
    assert known.sum() > 2500
    np.testing.assert_allclose(grouped.value[known], reference[known], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(per_row.value[known], reference[known], rtol=1e-12, atol=1e-13)
    for row in np.flatnonzero(~known)[:3]:
        b, c = b_groups[group[row]], c_groups[group[row]]
        # Euler: 2F1(1, b; c; z) = (c - 1) int_0^1 (1 - v)^(c-2) (1 - z v)^-b dv
        euler, _ = integrate.quad(
            lambda v, b=b, c=c, z=z[row]: (
                (c - 1) * np.exp((c - 2) * np.log1p(-v) - b * np.log1p(-z * v))
            ),
            0.0,
            1.0,
            epsabs=0.0,
            epsrel=1e-12,
            limit=200,
        )
        assert grouped.value[row] == pytest.approx(np.log(euler), rel=1e-10)
    for name in ("d_b", "d_c", "d_z"):
        np.testing.assert_allclose(
            getattr(grouped, name), getattr(per_row, name), rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize("grouped", [False, True])
def test_log_hyp2f1_one_derivatives_match_finite_differences_of_scipy(grouped: bool) -> None:
    b, c, z = ordinary_arguments(200, seed=2)
    if grouped:
        result = log_hyp2f1_one(b, c, z, group=np.arange(b.size))
    else:
        result = log_hyp2f1_one(b, c, z)
    step = 1e-6

    def log_f(bb: np.ndarray, cc: np.ndarray, zz: np.ndarray) -> np.ndarray:
        return np.log(special.hyp2f1(1.0, bb, cc, zz))

    numeric = {
        "d_b": (log_f(b + step, c, z) - log_f(b - step, c, z)) / (2 * step),
        "d_c": (log_f(b, c + step, z) - log_f(b, c - step, z)) / (2 * step),
        "d_z": (log_f(b, c, z + step) - log_f(b, c, z - step)) / (2 * step),
    }
    for name, values in numeric.items():
        np.testing.assert_allclose(getattr(result, name), values, rtol=1e-6, atol=1e-7)


def test_log_hyp2f1_one_at_zero_has_value_zero_and_slope_b_over_c() -> None:
    # Both paths: at z = 0 the sum is 1 and d log F / dz = b / c (needed at alpha == beta).
    b, c = np.array([1.5, 2.0]), np.array([3.0, 8.0])
    group = np.array([0, 1, 1])
    for result in (
        log_hyp2f1_one(b, c, np.zeros(3), group=group),
        log_hyp2f1_one(b[group], c[group], np.zeros(3)),
    ):
        np.testing.assert_array_equal(result.value, 0.0)
        np.testing.assert_array_equal(result.d_b, 0.0)
        np.testing.assert_allclose(result.d_z, [0.5, 0.25, 0.25])


def test_series_term_count_grows_with_z_and_is_enough() -> None:
    z = np.array([0.0, 0.1, 0.5, 0.9, 0.99])
    terms = series_terms_needed(z)
    assert terms[0] == 0
    assert np.all(np.diff(terms) > 0)
    # The tail bound z^K / (1 - z) is below double precision at the chosen K.
    assert np.all(z[1:] ** terms[1:] / (1 - z[1:]) < 1e-16)


def test_continued_fraction_depth_grows_like_one_over_root_of_one_minus_z() -> None:
    depths = [fraction_depth_needed(z) for z in (0.0, 0.5, 0.9, 0.99, 0.9999)]
    assert depths == sorted(depths)
    assert depths[3] < 250  # the series would need about 4,000 terms here
    assert fraction_depth_needed(1.0 - 1e-12) == MAX_FRACTION_DEPTH


@pytest.mark.parametrize("z", [0.05, 0.3, 0.6, 0.9])
def test_series_and_continued_fraction_agree_values_and_derivatives(z: float) -> None:
    # Two exact representations, evaluated independently at the same points.
    b = np.array([0.3, 1.6, 2.5, 30.5, 300.5])
    c = b + np.array([0.2, 0.9, 2.5, 1.6, 0.61])
    group = np.arange(5)
    zz = np.full(5, z)
    series = _horner(
        _series_table(b, c, int(series_terms_needed(np.array([z]))[0]), True), group, zz
    )
    fraction = _continued_fraction(_fraction_table(b, c, fraction_depth_needed(z), True), group, zz)
    np.testing.assert_allclose(fraction, series, rtol=1e-12)


def direct_tail_integral(t: float, p: float, q: float, alpha: float, beta: float) -> float:
    value, _ = integrate.quad(
        lambda u: (alpha + u) ** -p * (beta + u) ** -q,
        t,
        np.inf,
        epsabs=0.0,
        epsrel=1e-13,
        limit=500,
    )
    return float(np.log(value))


@pytest.mark.parametrize(
    ("t", "p", "q", "alpha", "beta"),
    [
        (0.0, 1.5, 1.6, 10.0, 12.0),
        (3.0, 0.6, 1.6, 12.0, 10.0),
        (0.0, 0.6, 0.6, 1.0, 100.0),
        (2.0, 2.0, 2.0, 5.0, 5.0),
        (0.0, 0.55, 1.6, 100.0, 0.5),
        (39.0, 30.55, 0.61, 10.6, 11.7),
    ],
)
def test_tail_integral_matches_quadrature(
    t: float, p: float, q: float, alpha: float, beta: float
) -> None:
    result = log_pareto_tail_integral(np.array([t]), p, q, alpha, beta)
    assert result.value[0] == pytest.approx(direct_tail_integral(t, p, q, alpha, beta), abs=1e-11)


def test_tail_integral_matches_the_hypergeometric_form_of_fader_hardie() -> None:
    # F&H (2005) eq. 22 writes the integral as 2F1(p+q-1, q; p+q; z) / ((p+q-1)(a+t)^(p+q-1)).
    rng = np.random.default_rng(3)
    t = rng.uniform(0.0, 60.0, 300)
    p = rng.uniform(0.6, 20.0, 300)
    q = rng.uniform(0.5, 5.0, 300)
    alpha, beta = 14.0, 9.0
    z = (alpha - beta) / (alpha + t)
    reference = (
        np.log(special.hyp2f1(p + q - 1, q, p + q, z))
        - (p + q - 1) * np.log(alpha + t)
        - np.log(p + q - 1)
    )
    result = log_pareto_tail_integral(t, p, q, alpha, beta)
    np.testing.assert_allclose(result.value, reference, rtol=1e-12)


def test_tail_integral_is_symmetric_in_the_two_pairs() -> None:
    t = np.linspace(0.0, 50.0, 11)
    one = log_pareto_tail_integral(t, 2.3, 0.7, 4.0, 19.0)
    other = log_pareto_tail_integral(t, 0.7, 2.3, 19.0, 4.0)
    np.testing.assert_allclose(one.value, other.value, rtol=1e-14)
    np.testing.assert_allclose(one.d_p, other.d_q, rtol=1e-12)
    np.testing.assert_allclose(one.d_alpha, other.d_beta, rtol=1e-12)


def test_tail_integral_derivatives_match_finite_differences() -> None:
    t = np.array([0.0, 1.0, 20.0, 39.0, 500.0])
    p = np.array([0.5, 1.5, 30.5, 300.5, 3.0])
    base = {"p": p, "q": 1.6, "alpha": 10.6, "beta": 11.7}
    for alpha, beta in ((10.6, 11.7), (11.7, 10.6), (7.0, 7.0)):
        args = dict(base, alpha=alpha, beta=beta)
        analytic = log_pareto_tail_integral(t, **args)
        for name in ("p", "q", "alpha", "beta"):
            step = 1e-6 * np.max(np.abs(args[name]))
            up, down = dict(args), dict(args)
            up[name] = args[name] + step
            down[name] = args[name] - step
            numeric = (
                log_pareto_tail_integral(t, **up).value - log_pareto_tail_integral(t, **down).value
            ) / (2 * step)
            np.testing.assert_allclose(
                getattr(analytic, f"d_{name}"), numeric, rtol=1e-6, atol=1e-8, err_msg=name
            )


def test_tail_integral_is_finite_for_heavy_exponents() -> None:
    result = log_pareto_tail_integral(np.array([0.0, 499.0]), 300.55, 1.61, 10.6, 11.7)
    for values in result:
        assert np.all(np.isfinite(values))
    # With p = 300 the integrand falls like (alpha + u)^-300: J ~ (alpha+t)^(1-p-q) / (p+q-1).
    crude = -(300.55 + 1.61 - 1) * np.log(10.6 + 499.0) - np.log(300.55 + 1.61 - 1)
    assert result.value[1] == pytest.approx(crude, abs=0.1)


@pytest.mark.parametrize("power", [0.0, 2.5, 40.0])
def test_gauss_jacobi_integrates_polynomials_exactly(power: float) -> None:
    nodes, weights = gauss_jacobi(12, power)
    assert weights.sum() == pytest.approx(1.0, abs=1e-14)
    for degree in (0, 4, 10, 22):  # even: no integral is zero (quad's relative tolerance)
        exact, _ = integrate.quad(
            lambda x, d=degree: (1 + x) ** power * x**d, -1.0, 1.0, epsabs=0, epsrel=1e-13
        )
        normaliser = 2.0 ** (power + 1) / (power + 1)
        assert (weights * nodes**degree).sum() * normaliser == pytest.approx(exact, rel=1e-10)


def test_gauss_jacobi_stays_finite_for_powers_where_scipy_overflows() -> None:
    nodes, weights = gauss_jacobi(64, 3000.0)
    assert np.all(np.isfinite(nodes)) and np.all(np.isfinite(weights))
    assert weights.sum() == pytest.approx(1.0)
    # The weight (1+x)^3000 piles the mass against x = 1.
    assert (weights * nodes).sum() > 0.99
