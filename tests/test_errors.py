"""The exception tree: stable codes, and DataError messages that say what and where."""

from __future__ import annotations

import pytest

from retain import errors


@pytest.mark.parametrize(
    ("cls", "parent", "code"),
    [
        (errors.DataError, errors.RetainError, "data_error"),
        (errors.NotFittedError, errors.RetainError, "not_fitted"),
        (errors.ConvergenceError, errors.RetainError, "convergence_error"),
        (errors.ConfigError, errors.RetainError, "config_error"),
        (errors.NotFound, errors.DomainError, "not_found"),
        (errors.Conflict, errors.DomainError, "conflict"),
        (errors.PermissionDenied, errors.DomainError, "permission_denied"),
        (errors.RuleViolation, errors.DomainError, "rule_violation"),
    ],
)
def test_each_error_has_its_place_and_a_stable_code(cls, parent, code) -> None:
    assert issubclass(cls, parent)
    assert cls.code == code


def test_data_error_message_names_column_count_and_example() -> None:
    error = errors.DataError("must be >= 0", column="frequency", bad_rows=3, example=-1)
    assert str(error) == "column 'frequency': must be >= 0 (3 bad row(s), e.g. -1)"
    assert error.details == {"column": "frequency", "bad_rows": 3, "example": -1}
