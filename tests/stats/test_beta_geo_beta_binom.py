"""BG/BB: the published donations fit, predictions by exact quadrature, recovery, bad input."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import special

from retain.datasets import load_donations, published
from retain.errors import DataError, NotFittedError
from retain.stats.beta_geo_beta_binom import BetaGeoBetaBinomModel
from retain.stats.simulate import simulate_beta_geo_beta_binom

PARAMS = dict(published.BETA_GEO_BETA_BINOM.params)
HISTORIES = {
    "frequency": np.array([0.0, 1.0, 3.0, 6.0, 2.0]),
    "recency": np.array([0.0, 1.0, 5.0, 6.0, 6.0]),
    "periods": np.array([6.0, 6.0, 6.0, 6.0, 9.0]),
}


def beta_expectation(function: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """``E[f(p, theta)]`` under the prior, by Gauss-Jacobi quadrature in both coordinates:
    exact for the polynomials in ``p`` and ``theta`` the model's quantities are."""
    alpha, beta, gamma, delta = PARAMS.values()
    nodes_p, weights_p = special.roots_jacobi(40, beta - 1, alpha - 1)
    nodes_t, weights_t = special.roots_jacobi(40, delta - 1, gamma - 1)
    p, theta = np.meshgrid((1 + nodes_p) / 2, (1 + nodes_t) / 2, indexing="ij")
    weights = np.outer(weights_p / weights_p.sum(), weights_t / weights_t.sum())
    return float(np.sum(weights * function(p, theta)))


def likelihood_given(x: float, t_x: float, n: float) -> Callable[..., np.ndarray]:
    """The history's probability for given ``(p, theta)``: alive through ``n``, or dead right
    before opportunity ``t_x + i + 1``."""

    def probability(p: np.ndarray, theta: np.ndarray) -> np.ndarray:
        alive = p**x * (1 - p) ** (n - x) * (1 - theta) ** n
        dead = sum(
            p**x * (1 - p) ** (t_x - x + i) * theta * (1 - theta) ** (t_x + i)
            for i in range(int(n - t_x))
        )
        return alive + dead

    return probability


def test_donations_fit_reproduces_published_estimates_and_log_likelihood() -> None:
    model = BetaGeoBetaBinomModel().fit(load_donations())
    for name, value in published.BETA_GEO_BETA_BINOM.params.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    assert model.log_likelihood_ == pytest.approx(-33225.58, abs=5e-3)
    assert model.result_.n_observations == 11104


def test_log_likelihood_equals_the_quadrature_of_the_history() -> None:
    value, _ = BetaGeoBetaBinomModel()._log_likelihood(np.array(list(PARAMS.values())), HISTORIES)
    for i in range(len(value)):
        row = (HISTORIES[k][i] for k in ("frequency", "recency", "periods"))
        assert value[i] == pytest.approx(
            np.log(beta_expectation(likelihood_given(*row))), rel=1e-10
        )


def test_gradient_matches_finite_differences(assert_gradient_matches: Callable[..., None]) -> None:
    assert_gradient_matches(BetaGeoBetaBinomModel(), PARAMS, HISTORIES)


def test_conditional_predictions_equal_the_posterior_quadrature() -> None:
    model = BetaGeoBetaBinomModel.from_params(**PARAMS)
    p_alive = model.probability_alive(HISTORIES)
    expected = model.expected_purchases(HISTORIES, 5)
    for i in range(len(p_alive)):
        x, t_x, n = (HISTORIES[k][i] for k in ("frequency", "recency", "periods"))
        evidence = beta_expectation(likelihood_given(x, t_x, n))

        def alive_next(p, theta, x=x, n=n):
            return p**x * (1 - p) ** (n - x) * (1 - theta) ** (n + 1)

        def purchases_ahead(p, theta, x=x, n=n):
            path = p**x * (1 - p) ** (n - x) * (1 - theta) ** n
            return path * sum(p * (1 - theta) ** k for k in range(1, 6))

        assert p_alive[i] == pytest.approx(beta_expectation(alive_next) / evidence, rel=1e-9)
        assert expected[i] == pytest.approx(beta_expectation(purchases_ahead) / evidence, rel=1e-9)


def test_new_customer_predictions_agree_with_simulation() -> None:
    drawn = simulate_beta_geo_beta_binom(300_000, **PARAMS, periods=6, seed=2)["frequency"]
    model = BetaGeoBetaBinomModel.from_params(**PARAMS)
    standard_error = drawn.std() / np.sqrt(len(drawn))
    assert abs(drawn.mean() - model.expected_purchases_new_customer(6)) < 4 * standard_error
    shares = np.bincount(drawn.astype(int), minlength=7) / len(drawn)
    predicted = model.probability_of_purchases_new_customer(np.arange(7), 6)
    assert predicted.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(shares, predicted, atol=4 * np.sqrt(0.25 / len(drawn)))


def test_expected_purchases_near_gamma_one_are_continuous() -> None:
    near = [
        BetaGeoBetaBinomModel.from_params(alpha=1.2, beta=0.75, gamma=g, delta=2.8)
        for g in (1.0 - 1e-4, 1.0, 1.0 + 1e-4)
    ]
    values = [float(m.expected_purchases_new_customer(10)) for m in near]
    assert values[0] == pytest.approx(values[1], rel=1e-3)
    assert values[2] == pytest.approx(values[1], rel=1e-3)


def test_fit_recovers_simulated_parameters() -> None:
    truth = {"alpha": 1.5, "beta": 1.0, "gamma": 0.8, "delta": 3.0}
    model = BetaGeoBetaBinomModel().fit(
        simulate_beta_geo_beta_binom(40_000, **truth, periods=8, seed=5)
    )
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3.5 * model.standard_errors_[name], name


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"recency": [1.0, 7.0]}, "recency"),
        ({"frequency": [1.0, 4.0]}, "frequency"),
        ({"frequency": [0.0, 2.0], "recency": [2.0, 3.0]}, "recency"),
        ({"periods": [6.0, 0.0], "frequency": [1.0, 0.0], "recency": [1.0, 0.0]}, "periods"),
        ({"frequency": [1.0, np.nan]}, "frequency"),
    ],
)
def test_bad_histories_raise_data_error_naming_the_column(change, column) -> None:
    data = {"frequency": [1.0, 2.0], "recency": [1.0, 3.0], "periods": [6.0, 6.0]} | change
    with pytest.raises(DataError) as caught:
        BetaGeoBetaBinomModel().fit({k: np.asarray(v) for k, v in data.items()})
    assert caught.value.column == column


def test_predictions_before_fit_raise_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="BetaGeoBetaBinomModel is not fitted yet"):
        BetaGeoBetaBinomModel().probability_alive(HISTORIES)


@pytest.mark.parametrize("gamma", [PARAMS["gamma"], 1.0])
def test_new_customer_expected_purchases_equal_the_prior_quadrature(gamma: float) -> None:
    params = PARAMS | {"gamma": gamma}
    model = BetaGeoBetaBinomModel.from_params(**params)
    alpha, beta, _, delta = params.values()
    for n in (0, 1, 6, 25):
        got = float(model.expected_purchases_new_customer(n))
        if gamma == 1.0:
            # E[(1-theta)^t] = delta / (delta + t) for theta ~ Beta(1, delta).
            want = alpha / (alpha + beta) * sum(delta / (delta + t) for t in range(1, n + 1))
        else:

            def purchases(p, theta, n=n):
                return p * sum((1 - theta) ** t for t in range(1, n + 1))

            want = beta_expectation(purchases)
        assert got == pytest.approx(want, rel=1e-10, abs=1e-14), n


def test_predictions_for_many_rows_equal_those_row_by_row() -> None:
    model = BetaGeoBetaBinomModel.from_params(**PARAMS)
    order = np.random.default_rng(3).integers(0, 5, 400)
    many = {name: values[order] for name, values in HISTORIES.items()}
    ahead = np.arange(400) % 7
    p_alive = model.probability_alive(many)
    expected = model.expected_purchases(many, ahead)
    for row in (0, 1, 57, 399):
        one = {name: values[row : row + 1] for name, values in many.items()}
        assert p_alive[row] == pytest.approx(model.probability_alive(one)[0], rel=1e-13)
        want = model.expected_purchases(one, ahead[row])[0]
        assert expected[row] == pytest.approx(want, rel=1e-13)
    assert np.all(expected[ahead == 0] == 0.0)


def test_long_histories_are_evaluated_in_blocks_without_changing_a_row() -> None:
    # 600 opportunities: each row has up to 601 terms, so 1,000 rows take several blocks.
    rng = np.random.default_rng(4)
    recency = rng.integers(1, 601, 1000).astype(float)
    histories = {
        "frequency": np.ceil(recency * rng.random(1000)),
        "recency": recency,
        "periods": np.full(1000, 600.0),
    }
    model = BetaGeoBetaBinomModel()
    values, gradients = model._log_likelihood(np.array(list(PARAMS.values())), histories)
    for row in (0, 500, 999):
        one = {name: column[row : row + 1] for name, column in histories.items()}
        value, gradient = model._log_likelihood(np.array(list(PARAMS.values())), one)
        assert values[row] == value[0]
        np.testing.assert_array_equal(gradients[row], gradient[0])


def test_weights_give_the_same_fit_as_repeated_rows() -> None:
    data = simulate_beta_geo_beta_binom(400, **PARAMS, periods=6, seed=9)
    weight = np.arange(400.0) % 3 + 1
    repeated = {name: np.repeat(values, weight.astype(int)) for name, values in data.items()}
    grouped = BetaGeoBetaBinomModel().fit(data | {"weight": weight})
    plain = BetaGeoBetaBinomModel().fit(repeated)
    assert grouped.params_ == pytest.approx(plain.params_, rel=1e-6)
    assert grouped.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-10)
