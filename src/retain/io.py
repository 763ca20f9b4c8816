"""Reading and writing the tables users hand to retain (CSV and Parquet), through DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir

from retain.csv_safety import neutralise_ibis
from retain.errors import DataError

READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}


def read_table(path: str | Path, *, connection: Any = None) -> ir.Table:
    """A lazy ibis table over a CSV or Parquet file (DuckDB unless a connection is given)."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use .csv or .parquet")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    connection = connection or ibis.duckdb.connect()
    try:
        return getattr(connection, reader)(str(path))
    except Exception as exc:  # the engine's own parse errors
        raise DataError(f"{path}: could not be read as {path.suffix[1:]}: {exc}") from None


def write_table(table: ir.Table, path: str | Path) -> Path:
    """Write ``table`` to CSV or Parquet, chosen by the file's suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use .csv or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":  # text that would start a spreadsheet formula is neutralised
        neutralise_ibis(table).to_csv(path)
    else:
        table.to_parquet(path)
    return path
