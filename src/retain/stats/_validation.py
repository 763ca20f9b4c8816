"""Turn whatever table the caller has into checked float arrays.

Every model accepts a pandas or polars DataFrame, a pyarrow Table, an ibis Table or a plain
mapping of arrays. Bad values raise :class:`~retain.errors.DataError` naming the column, the
number of bad rows and one example; nothing is dropped or clipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from retain.errors import DataError

Columns = dict[str, np.ndarray]
# Odd 64-bit constants (from splitmix64) that spread the bits of each key column.
_HASH_MULTIPLIERS = tuple(
    np.uint64(m)
    for m in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93)
)


def column_names(data: Any) -> list[str]:
    if isinstance(data, Mapping):
        return list(data.keys())
    if hasattr(data, "column_names"):  # pyarrow.Table
        return list(data.column_names)
    if hasattr(data, "columns"):  # pandas, polars, ibis
        return list(data.columns)
    raise DataError(
        f"expected a table (pandas/polars DataFrame, pyarrow or ibis Table, or a dict of "
        f"arrays), got {type(data).__name__}"
    )


def _materialise(data: Any) -> Any:
    """Execute lazy tables (ibis) so their columns can be read."""
    if hasattr(data, "to_pyarrow") and hasattr(data, "execute"):
        return data.to_pyarrow()
    return data


def _column(data: Any, name: str) -> np.ndarray:
    if isinstance(data, Mapping):
        values = data[name]
    elif hasattr(data, "column_names"):
        values = data.column(name).to_numpy()
    else:
        values = data[name]
        if hasattr(values, "to_numpy"):
            values = values.to_numpy()
    try:
        return np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"values must be numbers ({exc})", column=name) from None


def read_columns(data: Any, required: Iterable[str], optional: Iterable[str] = ()) -> Columns:
    """Read ``required`` (and any present ``optional``) columns as float64 arrays.

    Raises
    ------
    DataError
        A required column is missing, the table is empty, the columns differ in length, or
        a value is NaN or infinite.
    """
    data = _materialise(data)
    present = column_names(data)
    columns: Columns = {}
    for name in required:
        if name not in present:
            raise DataError(f"missing required column; the table has {present}", column=name)
        columns[name] = _column(data, name)
    for name in optional:
        if name in present:
            columns[name] = _column(data, name)
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"columns differ in length: {lengths}")
    if not lengths or next(iter(lengths.values())) == 0:
        raise DataError("the table is empty: at least one row is needed")
    for name, values in columns.items():
        reject(name, values, ~np.isfinite(values), "must be a finite number (NaN or inf found)")
    return columns


def reject(name: str, values: np.ndarray, bad: np.ndarray, rule: str) -> None:
    """Raise a DataError for the rows where ``bad`` holds, naming count and first example
    (``row`` is its position in the table given, counted from 0; the value plain)."""
    count = int(np.count_nonzero(bad))
    if count:
        row = int(np.flatnonzero(bad)[0])
        value = values[row].item() if hasattr(values[row], "item") else values[row]
        raise DataError(rule, column=name, bad_rows=count, example={"row": row, name: value})


def check_count(name: str, values: np.ndarray) -> None:
    """Counts are whole numbers >= 0."""
    reject(name, values, values < 0, "must be >= 0")
    reject(name, values, values != np.round(values), "must be a whole number")


def check_positive(name: str, values: np.ndarray) -> None:
    reject(name, values, values <= 0, "must be > 0")


def check_rfm_summary(columns: Columns) -> None:
    """The continuous-time RFM summary: 0 <= recency <= T, frequency whole, T >= 0.

    ``T = 0`` is a customer acquired at the very end: they count, with nothing observed yet
    (their likelihood is 1 and their predictions those of a new customer).
    """
    frequency, recency, T = columns["frequency"], columns["recency"], columns["T"]
    check_count("frequency", frequency)
    reject("recency", recency, recency < 0, "must be >= 0")
    reject("T", T, ~(T >= 0), "must be >= 0")
    reject("recency", recency, recency > T, "must not exceed T (the customer's age)")
    reject(
        "recency",
        recency,
        (frequency == 0) & (recency != 0),
        "must be 0 for customers with no repeat purchase (frequency 0)",
    )
    reject(
        "recency",
        recency,
        (frequency > 0) & (recency == 0),
        "must be > 0 for customers with repeat purchases",
    )


def weights_of(columns: Columns) -> np.ndarray:
    """The ``weight`` column if present (positive, finite), else ones."""
    n = len(next(iter(columns.values())))
    if "weight" not in columns:
        return np.ones(n)
    weight = columns["weight"]
    check_positive("weight", weight)
    return weight


def distinct_rows(
    columns: Mapping[str, np.ndarray], keys: Iterable[str]
) -> tuple[Columns, np.ndarray]:
    """The distinct rows of the ``keys`` columns and, for every row, the index of its
    distinct row: predict once per distinct customer history (in whole days many customers
    share one), then spread the results back with ``result[inverse]``.

    Parameters
    ----------
    columns
        Equal-length numeric arrays by name (a history's ``frequency``, ``recency``, ``T``).
    keys
        The columns that make two rows the same.

    Returns
    -------
    distinct, inverse
        The distinct rows' ``keys`` columns (as floats), and the index into them of each
        row of ``columns``.

    Sorts by a 64-bit hash of each row (one argsort instead of a lexicographic sort on every
    column), then starts a group wherever a column changes. Identical rows share a hash, so
    they sit together unless a colliding row lands between them, which only leaves them in
    two groups: the callers sum or repeat per group, so that costs a little speed, never
    correctness.
    """
    keys = list(keys)
    key_columns = [np.ascontiguousarray(columns[k], dtype=float) for k in keys]
    mixed = np.zeros(len(key_columns[0]), dtype=np.uint64)
    for i, column in enumerate(key_columns):
        bits = column.view(np.uint64)
        mixed = (mixed ^ (bits ^ (bits >> np.uint64(31)))) * _HASH_MULTIPLIERS[i % 4]
    order = np.argsort(mixed)
    changed = np.zeros(len(order), dtype=bool)
    if len(order):
        changed[0] = True
    for column in key_columns:
        ordered = column[order]
        changed[1:] |= ordered[1:] != ordered[:-1]
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(changed) - 1
    first_rows = order[changed]
    return {k: column[first_rows] for k, column in zip(keys, key_columns, strict=True)}, inverse


def compress(
    columns: Columns, keys: Iterable[str], weights: np.ndarray
) -> tuple[Columns, np.ndarray]:
    """Merge identical rows of ``keys`` into one row whose weight is the sum of theirs.

    Real summaries repeat the same (frequency, recency, T) many times (every one-time buyer of
    a cohort shares one row), so the likelihood is evaluated once per distinct row.
    """
    keys = list(keys)
    unique, inverse = distinct_rows(columns, keys)
    if len(unique[keys[0]]) == len(inverse):  # nothing to merge
        return {k: np.ascontiguousarray(columns[k], dtype=float) for k in keys}, weights
    summed = np.bincount(inverse, weights=weights, minlength=len(unique[keys[0]]))
    return unique, summed


def horizon_of(t: float | np.ndarray, n_rows: int | None) -> np.ndarray:
    """Check ``t`` (finite, >= 0) and broadcast it to ``n_rows`` when given."""
    horizon = np.asarray(t, dtype=float)
    if n_rows is not None:
        if horizon.ndim > 1 or (horizon.ndim == 1 and horizon.size not in (1, n_rows)):
            raise DataError(
                f"t must be a scalar or have one value per row ({n_rows}), "
                f"got shape {horizon.shape}",
                column="t",
            )
        horizon = np.broadcast_to(horizon.reshape(-1), (n_rows,))
    flat = horizon.reshape(-1)
    reject("t", flat, ~np.isfinite(flat), "must be a finite number")
    reject("t", flat, flat < 0, "must be >= 0")
    return horizon


def count_of(n: int | np.ndarray, n_rows: int | None) -> np.ndarray:
    """Check ``n`` (whole, >= 0) and broadcast it to ``n_rows`` when given."""
    count = np.asarray(n, dtype=float)
    if n_rows is not None:
        if count.ndim > 1 or (count.ndim == 1 and count.size not in (1, n_rows)):
            raise DataError(
                f"n must be a scalar or have one value per row ({n_rows}), got shape {count.shape}",
                column="n",
            )
        count = np.broadcast_to(count.reshape(-1), (n_rows,))
    flat = count.reshape(-1)
    reject("n", flat, ~np.isfinite(flat), "must be a finite number")
    check_count("n", flat)
    return count
