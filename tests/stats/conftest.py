"""Shared checks for the model tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from retain.stats._base import BaseModel
from retain.stats._validation import Columns


def _assert_gradient_matches(
    model: BaseModel, params: dict[str, float], columns: Columns, *, rtol: float = 1e-5
) -> None:
    """The analytic per-row gradient equals central finite differences of the likelihood."""
    theta = np.array([params[name] for name in model.param_names], dtype=float)
    _, analytic = model._log_likelihood(theta, columns)
    for i in range(len(theta)):
        step = 1e-6 * max(abs(theta[i]), 1e-2)
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        numeric = (
            model._log_likelihood(up, columns)[0] - model._log_likelihood(down, columns)[0]
        ) / (2 * step)
        np.testing.assert_allclose(
            analytic[:, i],
            numeric,
            rtol=rtol,
            atol=1e-6,
            err_msg=f"d loglik / d {model.param_names[i]}",
        )


@pytest.fixture
def assert_gradient_matches() -> Callable[..., None]:
    return _assert_gradient_matches
