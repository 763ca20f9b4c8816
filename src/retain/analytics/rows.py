"""Where a row sits in the user's file, and a bad row shown in the user's terms.

Public for what builds on the analytics: the file reader (:mod:`retain.io`) adds the
``LINE``/``ROW`` columns, the analyses' checks and the store's imports show a refused row
with :func:`example_of`, so an error names the same place whoever raised it.
"""

from __future__ import annotations

from typing import Any

#: Columns that hold where a row is in the user's file (added by :func:`retain.io.read_file`):
#: a CSV row's line, a Parquet row's number.
LINE, ROW = "_line", "_row"
#: Columns that name a row to its owner, shown in every example.
ID_COLUMNS = ("customer_id", "order_id", "complaint_id")


def example_of(row: dict[str, Any], column: str) -> dict[str, Any]:
    """One bad row in the user's terms: its line in the file (when known), its ids and the
    bad value; the whole row when it has no id column."""
    example: dict[str, Any] = {}
    if row.get(LINE) is not None:
        example["line"] = row[LINE]
    elif row.get(ROW) is not None:
        example["row"] = row[ROW]
    ids = {name: row[name] for name in ID_COLUMNS if name in row and name != column}
    if not ids and column not in ID_COLUMNS:
        ids = {k: v for k, v in row.items() if k not in (LINE, ROW, column)}
    example.update(ids)
    if column in row:
        example[column] = row[column]
    return example
