"""One exception tree for the whole of retain.

::

    RetainError                  base: a stable ``code``, a message and ``details``
    ├── DataError                a bad table or array (column, count of bad rows, one example)
    ├── NotFittedError           a model used before ``fit``
    ├── ConvergenceError         an optimiser that did not find a maximum (with what to try)
    ├── ConfigError              a setting that is missing or wrong
    └── DomainError              a business rule of the operational store
        ├── NotFound
        ├── Conflict
        ├── PermissionDenied
        └── RuleViolation

Only the API layer maps these to HTTP and only the CLI maps them to exit codes; library code
raises them and nothing else.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any


class RetainError(Exception):
    """Base of every error retain raises on purpose."""

    code = "retain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class DataError(RetainError, ValueError):
    """A table or array that cannot be used as given.

    ``details`` carries ``column``, ``bad_rows`` (count) and ``example`` where they apply,
    and ``file`` when the table came from one; ``rule`` is the message without them. An
    example is written in plain values (``line 5, order_id "A-1", amount -3.5``).
    """

    code = "data_error"

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        bad_rows: int | None = None,
        example: Any = None,
        file: str | None = None,
        **details: Any,
    ) -> None:
        rule = message
        if column is not None and bad_rows is not None:
            message = (
                f"column {column!r}: {message} ({bad_rows} bad row(s), "
                f"e.g. {describe_example(example)})"
            )
        elif column is not None:
            message = f"column {column!r}: {message}"
        if file is not None:
            message = f"{file}: {message}"
            details["file"] = file
        super().__init__(message, column=column, bad_rows=bad_rows, example=example, **details)
        self.rule = rule
        self.column = column
        self.bad_rows = bad_rows
        self.example = example


_PLACES = ("line", "lines", "row", "rows")


def describe_example(example: Any) -> str:
    """An example row in the user's terms: where it is first, then its values, plainly."""
    if not isinstance(example, dict):
        return plain(example)
    places = [f"{key} {example[key]}" for key in _PLACES if key in example]
    values = [f"{key} {plain(value)}" for key, value in example.items() if key not in _PLACES]
    if places and values:
        return f"{', '.join(places)}: {', '.join(values)}"
    return ", ".join(places or values)


def plain(value: Any) -> str:
    """A value as a user wrote or reads it: no ``np.float64(...)`` or ``Timestamp(...)``."""
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str | bytes):
        with suppress(TypeError, ValueError):
            value = value.item()  # numpy scalars
    if value is None or (not isinstance(value, str | bytes) and value != value):  # NaN, NaT
        return "(empty)"
    if isinstance(value, str):
        return f'"{value}"'
    if hasattr(value, "isoformat"):
        text = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        return text.removesuffix(" 00:00:00")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


class NotFittedError(RetainError, AttributeError):
    """A model's learned values were asked for before ``fit``."""

    code = "not_fitted"


class ConvergenceError(RetainError, RuntimeError):
    """The optimiser stopped without a maximum of the likelihood."""

    code = "convergence_error"


class ConfigError(RetainError):
    """A setting that is missing or invalid."""

    code = "config_error"


class DomainError(RetainError):
    """A business rule of the operational store was not met."""

    code = "domain_error"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class PermissionDenied(DomainError):
    code = "permission_denied"


class RuleViolation(DomainError):
    code = "rule_violation"


class ConvergenceWarning(UserWarning):
    """A fit that finished but whose result deserves a second look."""
