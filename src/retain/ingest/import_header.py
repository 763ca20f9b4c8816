"""A file's header, checked from its first bytes before the rest is read: a file without a
column its kind requires is refused at once (400, naming the column), not after all of it
has been read and converted (an 86 MB orders file without ``amount`` took minutes and
gigabytes to be refused).

Only what the header says for certain is checked here; anything it cannot tell (a header
line over :data:`HEADER_BYTES`, a quoted name spanning lines, a file that is not Parquet)
is left to the full reader, which says what is wrong.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from retain.errors import DataError
from retain.ingest.import_kinds import kind_of
from retain.io import FileOptions, renamed_header, sniffed_delimiter

#: The most of a CSV file read to find its header line.
HEADER_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"


def check_header(
    kind_name: str, source: IO[bytes], *, name: str, options: FileOptions | None = None
) -> None:
    """Refuse ``source`` (a CSV or Parquet file, by ``name``'s suffix) if its header lacks a
    column ``kind_name`` requires, or a column ``options`` name (as the full reader would);
    ``source`` is read from its start and left there.

    Raises
    ------
    DataError
        Listing each missing column as the full check does (``problems``), nothing imported.
    """
    options = options or FileOptions()
    suffix = Path(name).suffix.lower()
    try:
        names = _csv_names(source, name, options) if suffix == ".csv" else _parquet_names(source)
    finally:
        source.seek(0)
    if names is None:
        return
    present = set(renamed_header(names, options, name))  # a column given missing: refused
    missing = [
        column.name
        for column in kind_of(kind_name).columns
        if column.required and column.name not in present
    ]
    if not missing:
        return
    shown = "; ".join(f"column {column!r}: missing column" for column in missing)
    columns = [column for column in names if column]
    raise DataError(
        f"{name}: {len(missing)} problem(s), nothing was imported: {shown}; the file's "
        f"header has {columns}",
        problems=[
            {"column": column, "rule": "missing column", "bad_rows": None, "example": None}
            for column in missing
        ],
        header=columns,
    )


def _csv_names(source: IO[bytes], name: str, options: FileOptions) -> list[str] | None:
    start = source.read(HEADER_BYTES)
    start = start.removeprefix(_BOM)
    line, newline, _ = start.partition(b"\n")
    if not line.strip() or (not newline and len(start) >= HEADER_BYTES - len(_BOM)):
        return None  # empty, or a header longer than what was read: the full reader says
    text = line.decode("utf-8", errors="replace").removesuffix("\r")
    if text.count('"') % 2:  # a quoted name that goes on on the next line
        return None
    delimiter = options.delimiter or sniffed_delimiter(text, name)
    return next(csv.reader([text], delimiter=delimiter), [])


def _parquet_names(source: IO[bytes]) -> list[str] | None:
    try:
        return list(pq.ParquetFile(source).schema_arrow.names)
    except (pa.ArrowException, OSError):
        return None  # not Parquet: the full reader says so
