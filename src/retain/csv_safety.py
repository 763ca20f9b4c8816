"""CSV files a spreadsheet opens safely: text that would start a formula is neutralised.

A spreadsheet treats a cell starting with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab
or a carriage return) as a formula, so a customer id such as ``=HYPERLINK(...)`` in a shop's
export would run in the analyst's spreadsheet. Every CSV retain writes for people goes through
here: such text cells get a leading single quote, as OWASP recommends for CSV injection
(https://owasp.org/www-community/attacks/CSV_Injection). Only text columns are touched:
numbers, negative ones included, stay numbers. Parquet files keep the values as they are.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: A text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = "^[=+\\-@\t\r]"


def neutralise_arrow(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that starts a formula prefixed by ``'``."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, _PATTERN), False)
            quote = pa.scalar("'", type=column.type)
            column = pc.if_else(
                risky,
                pc.binary_join_element_wise(quote, column, pa.scalar("", column.type)),
                column,
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def neutralise_ibis(table: Any) -> Any:
    """The same for an ibis table, computed by its engine (nothing is loaded)."""
    replaced = {}
    for name, kind in table.schema().items():
        if kind.is_string():
            column = table[name]
            replaced[name] = column.re_search(_PATTERN).ifelse("'" + column, column)
    return table.mutate(**replaced) if replaced else table


def neutralise_cell(value: Any) -> Any:
    """One cell written row by row (a streamed export): text that starts a formula gets a
    leading ``'``; anything else (numbers, dates, ``None``) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
