"""Reading and writing the tables users hand to retain (CSV and Parquet).

One reader for every command (``retain rfm``, ``retain analyze``, ``retain import``), so a
file means the same thing to each of them. What it does with a file as shops export it
(docs/analytics.md, "Files as shops export them"):

- Every CSV cell is read as text, trimmed; an empty cell is missing. Ids stay text, so
  ``007`` stays ``007`` (and is not ``7``); ids from Parquet are cast to text (``7.0`` is
  ``7``). Extra columns are kept as they are; the analyses ignore them.
- The separator is ``--delimiter``, else the one of ``,``, ``;``, tab and ``|`` that the header
  line contains (a header with several of them is refused). A UTF-8 byte order mark and
  Windows line endings are fine; a file that is not UTF-8 is refused.
- Each row carries its line in the file (:data:`LINE`, the header is line 1; quoted
  newlines and blank lines counted) so every error can name it; Parquet rows carry their
  number (:data:`ROW`, 1 for the first).
- Amounts are plain numbers (``1234.50``) unless ``decimal`` and ``thousands`` say
  otherwise; an amount with a thousands separator, a decimal comma or a currency symbol the
  options do not explain is refused, never guessed.
- Times are ISO 8601 (``2024-03-05``, ``2024-03-05T14:30:00+07:00``) unless ``date_format``
  says otherwise (a ``strftime`` pattern, ``epoch`` seconds or ``epoch-ms``); ``05/03/2024``
  needs ``day_first`` (or its opposite) to say which is the day. A time with an offset, and
  every epoch time, is converted to the shop's time zone (``timezone``, default UTC): the day
  an order falls on is its day there. A time without an offset is taken as already there.
- A file with a header and no rows is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from retain.analytics.rows import LINE, ROW  # a CSV row's line, a Parquet row's number
from retain.csv_safety import neutralise_ibis
from retain.errors import DataError

READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}
DELIMITERS = (",", ";", "\t", "|")
DATE_FORMATS = ("epoch", "epoch-ms")  # besides strftime patterns
_CURRENCY = re.compile(r"[$€£¥₹₽₩฿₫₱₺₴₦]|\b[A-Z]{3}\b|\bkr\b|\bzł\b")
_DIGIT = re.compile(r"\d")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(.*)")
_EPOCH_LIKE = re.compile(r"\d{9,13}(\.\d+)?")
_OFFSET = re.compile(r"(Z|[+-]\d{2}(:?\d{2})?)$", re.IGNORECASE)


@dataclass(frozen=True)
class FileOptions:
    """How to read a user's file: which column plays which role, and how it writes values.

    The column names map a role (``ordered_at``) to the file's column (``Date``); the reader
    renames them, so every later step sees the standard names.
    """

    customer_id: str = "customer_id"
    order_id: str = "order_id"
    ordered_at: str = "ordered_at"
    amount: str = "amount"
    status: str = "status"
    delimiter: str | None = None
    decimal: str = "."
    thousands: str | None = None
    date_format: str | None = None
    day_first: bool | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise DataError(f"the delimiter must be one character, got {self.delimiter!r}")
        if self.decimal not in (".", ","):
            raise DataError(f"the decimal mark must be '.' or ',', got {self.decimal!r}")
        if self.thousands is not None and (
            self.thousands == self.decimal or self.thousands not in (",", ".", " ", "'", "_")
        ):
            raise DataError(
                f"the thousands separator must be one of , . ' _ or a space, and not the "
                f"decimal mark; got {self.thousands!r}"
            )
        if self.date_format is not None and self.day_first is not None:
            raise DataError("give a date format or day-first/month-first, not both")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise DataError(
                f"unknown time zone {self.timezone!r}; use a name such as Europe/Berlin or UTC"
            ) from None

    def renames(self) -> dict[str, str]:
        """The file's column for each role that is not under its standard name."""
        return {
            getattr(self, role): role
            for role in ("customer_id", "order_id", "ordered_at", "amount", "status")
            if getattr(self, role) != role
        }


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of file whose values the reader normalises."""

    ids: tuple[str, ...] = ("customer_id",)
    times: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()


LAYOUTS = {
    "orders": Layout(("customer_id", "order_id"), ("ordered_at",), ("amount",)),
    "customers": Layout(("customer_id",), ("signed_up_at", "birthday")),
    "subscriptions": Layout(("customer_id",), ("started_at", "ended_at"), ("mrr",)),
    "complaints": Layout(("customer_id", "complaint_id"), ("opened_at", "resolved_at")),
    "survey-answers": Layout(("customer_id",), ("answered_at",)),
}


def check_parquet_size(
    source: IO[bytes], *, max_bytes: int, max_rows: int, label: str = "the file"
) -> None:
    """Refuse a Parquet file that would expand beyond ``max_bytes`` uncompressed or hold more
    than ``max_rows`` rows, from its footer alone: nothing of its data is read.

    A few kilobytes of Parquet can hold gigabytes of repeated values; an upload is checked
    so before it is materialised. A file that is not Parquet at all is left to
    :func:`read_file`, which says so. ``source`` is read from its start and left there.

    Raises
    ------
    DataError
        With ``status`` 413, the uncompressed size or the rows, and the limit.
    """
    try:
        metadata = pq.ParquetFile(source).metadata
    except (pa.ArrowException, OSError):
        return
    finally:
        source.seek(0)
    expanded = sum(metadata.row_group(group).total_byte_size
                   for group in range(metadata.num_row_groups))  # fmt: skip
    if expanded > max_bytes:
        raise DataError(
            f"{label}: the Parquet file holds {expanded / 2**20:,.1f} MB uncompressed; the limit "
            f"is {max_bytes / 2**20:,.1f} MB", uncompressed_bytes=expanded,
            limit_bytes=max_bytes, status=413,
        )  # fmt: skip
    if metadata.num_rows > max_rows:
        raise DataError(
            f"{label}: the Parquet file holds {metadata.num_rows:,} rows; the limit is "
            f"{max_rows:,}", rows=metadata.num_rows, limit_rows=max_rows, status=413,
        )  # fmt: skip


def file_type(name: str) -> str:
    """The suffix of a file ``name`` that the reader takes (``.csv``, ``.parquet``, ``.pq``);
    any other is refused with a :class:`DataError` naming the file."""
    suffix = Path(name).suffix.lower()
    if suffix not in READERS:
        raise DataError(f"{name}: unknown file type {suffix or '(none)'!r}; use .csv or .parquet")
    return suffix


def read_file(
    source: str | Path | IO[bytes],
    *,
    kind: str | None = None,
    options: FileOptions | None = None,
    name: str | None = None,
    keep_offsets: bool = False,
    allow_empty: bool = False,
) -> pa.Table:
    """A user's CSV or Parquet file as Arrow, read as the module docstring says.

    Parameters
    ----------
    source
        A path, or an open binary file (an upload) whose ``name`` gives its type.
    kind
        ``orders``, ``customers``, ... (:data:`LAYOUTS`): which columns are ids, times and
        amounts. Without it only the column renames and text cleaning apply.
    options
        Column names and value formats; the defaults read the documented formats.
    keep_offsets
        Times as ISO text with the shop's UTC offset (what the store needs to keep the
        instant); else as the shop's wall-clock time (what the day-based analyses need).
    allow_empty
        Accept a file with a header and no rows (an import with nothing new); an analysis
        of no rows is refused.

    Raises
    ------
    DataError
        Unknown file type, no such file, not readable, a header without rows, a mapped
        column missing, or values whose format the options do not explain.
    """
    options = options or FileOptions()
    label = str(name or source)
    path_like = isinstance(source, str | Path)
    suffix = file_type(label)
    if path_like and not Path(source).is_file():
        raise DataError(f"{label}: no such file")
    data = Path(source).read_bytes() if path_like else source.read()
    if suffix == ".csv":
        table = _read_csv(data, label, options)
    else:
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{label}: could not be read as parquet: {exc}") from None
        table = table.append_column(ROW, pa.array(range(1, table.num_rows + 1), pa.int64()))
    if table.num_rows == 0 and not allow_empty:
        raise DataError(f"{label}: the file has a header but no rows: nothing to analyse")
    table = _renamed(_trimmed(table), options, label)
    layout = LAYOUTS.get(kind or "", Layout(ids=()))
    for column in layout.ids:
        if column in table.column_names:
            table = _set(table, column, _id_texts(table.column(column)))
    for column in layout.amounts:
        if column in table.column_names:
            table = _set(table, column, _amounts(table, column, options, label))
    zone = ZoneInfo(options.timezone)
    for column in layout.times:
        if column in table.column_names:
            table = _set(table, column, _times(table, column, options, label, zone, keep_offsets))
    return table


def read_table(
    path: str | Path,
    *,
    kind: str | None = None,
    options: FileOptions | None = None,
    connection: Any = None,
) -> ir.Table:
    """A user's file (:func:`read_file`) as an ibis table (DuckDB unless a connection is
    given)."""
    table = read_file(path, kind=kind, options=options)
    if connection is None:
        return ibis.memtable(table)
    return connection.create_table(Path(path).stem, table, temp=True)


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


# -- CSV ----------------------------------------------------------------------------------


def _read_csv(data: bytes, label: str, options: FileOptions) -> pa.Table:
    text_start = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not text_start.strip():
        raise DataError(f"{label}: the file is empty")
    header = text_start.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    delimiter = options.delimiter or sniffed_delimiter(header, label)
    parse = pa_csv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
    )
    try:
        names = pa_csv.open_csv(pa.BufferReader(data), parse_options=parse).schema.names
        convert = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False
        )
        table = pa_csv.read_csv(pa.BufferReader(data), parse_options=parse, convert_options=convert)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc)
        if "UTF8" in reason or "utf-8" in reason.lower():
            reason = "it is not UTF-8 text; save it as CSV UTF-8"
        raise DataError(f"{label}: could not be read as csv: {reason}") from None
    return _with_lines(table)


def sniffed_delimiter(header: str, label: str) -> str:
    """The delimiter of a CSV header line: the one of , ; tab | it holds (a comma if none);
    a header holding two of them is refused, naming them."""
    found = [d for d in DELIMITERS if d in header]
    if len(found) > 1:
        shown = " and ".join("tab" if d == "\t" else repr(d) for d in found)
        raise DataError(
            f"{label}: the header line has both {shown}; say which one separates the columns "
            "with --delimiter"
        )
    return found[0] if found else ","


def _with_lines(table: pa.Table) -> pa.Table:
    """Number each row by its first line in the file, then drop the blank lines (which the
    parser returns as rows of empty cells so they can be counted)."""
    n = table.num_rows
    if n == 0:
        return table.append_column(LINE, pa.array([], pa.int64()))
    extra = pa.array([0] * n, pa.int64())
    blank = pa.array([True] * n)
    for column in table.columns:
        extra = pc.add(extra, pc.count_substring(column, "\n").cast(pa.int64()))
        blank = pc.and_(blank, pc.equal(column, ""))
    spans = pc.add(extra, 1).to_numpy()
    lines = 2 + spans.cumsum() - spans
    table = table.append_column(LINE, pa.array(lines, pa.int64()))
    return table.filter(pc.invert(blank))


# -- columns ------------------------------------------------------------------------------


def _set(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def _trimmed(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            text = pc.utf8_trim_whitespace(table.column(index))
            table = table.set_column(index, field.name, pc.if_else(pc.equal(text, ""), None, text))
    return table


def _renamed(table: pa.Table, options: FileOptions, label: str) -> pa.Table:
    return table.rename_columns(renamed_header(table.column_names, options, label))


def renamed_header(header: list[str], options: FileOptions, label: str) -> list[str]:
    """A file's column names with each role ``options`` name under another name renamed to
    the role; refused (naming the option) when such a column is missing or doubled."""
    names = list(header)
    flags = {f.name: "--" + f.name.replace("_", "-") for f in fields(FileOptions)}
    for source, role in options.renames().items():
        if source not in names:
            if role in ("status",):
                continue  # an optional column: a file without it has none
            raise DataError(
                f"{label}: no column {source!r} (given with {flags[role]}); the file has "
                f"{[n for n in names if n not in (LINE, ROW)]}"
            )
        if role in names:
            raise DataError(
                f"{label}: {flags[role]} {source} names a column for {role}, but the file has "
                f"a {role!r} column too; rename or drop one of them"
            )
        names[names.index(source)] = role
    return names


def _id_texts(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Ids are text: numbers become their digits (``7.0`` is ``7``), text stays as it is."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column
    if pa.types.is_floating(kind):
        values = column.to_pylist()
        return pa.array(
            [
                None if v is None or v != v else str(int(v)) if v.is_integer() else repr(v)
                for v in values
            ],
            pa.string(),
        )
    return column.cast(pa.string())


def _example(table: pa.Table, index: int, column: str) -> dict[str, Any]:
    row = table.slice(index, 1).to_pylist()[0]
    example: dict[str, Any] = {}
    if LINE in row:
        example["line"] = row[LINE]
    elif ROW in row:
        example["row"] = row[ROW]
    for name in ("customer_id", "order_id", "complaint_id"):
        if name in row and name != column and row[name] is not None:
            example[name] = row[name]
    example[column] = row[column]
    return example


def _refuse(table: pa.Table, column: str, bad: list[bool], rule: str, label: str) -> None:
    count = sum(bad)
    if count:
        raise DataError(
            rule,
            file=label,
            column=column,
            bad_rows=count,
            example=_example(table, bad.index(True), column),
        )


def _amounts(table: pa.Table, column: str, options: FileOptions, label: str) -> Any:
    """Amounts written as text become plain numbers (``1234.50``), by the options."""
    values = table.column(column)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values
    texts = values.to_pylist()
    symbol = [v is not None and bool(_CURRENCY.search(v) and _DIGIT.search(v)) for v in texts]
    _refuse(
        table,
        column,
        symbol,
        "amounts with a currency symbol or code; remove it (keep the code in a currency "
        "column) and export plain numbers",
        label,
    )
    group = re.escape(options.thousands) if options.thousands else None
    mark = re.escape(options.decimal)
    digits = rf"\d{{1,3}}({group}\d{{3}})+|\d+" if group else r"\d+"
    pattern = re.compile(rf"[+-]?({digits})({mark}\d*)?|[+-]?{mark}\d+")
    parsed: list[str | None] = []
    unexplained: list[bool] = []
    for text in texts:
        if text is None:
            parsed.append(None)
            unexplained.append(False)
        elif pattern.fullmatch(text):
            plain = text.replace(options.thousands, "") if options.thousands else text
            parsed.append(plain.replace(options.decimal, "."))
            unexplained.append(False)
        elif options.decimal == "." and not options.thousands and _PLAIN_NUMBER.fullmatch(text):
            parsed.append(text)  # 1e3: a plain number too
            unexplained.append(False)
        else:
            parsed.append(text)  # not a number at all: the checks after say so
            unexplained.append(bool(re.fullmatch(r"[+-]?[\d.,' _]*\d[\d.,' _]*", text)))
    written = "with --decimal and --thousands (e.g. 1.234,50 is --decimal , --thousands .)"
    _refuse(
        table,
        column,
        unexplained,
        "amounts written with a thousands separator or a decimal mark the options do not "
        f"explain (the decimal mark is {options.decimal!r}, thousands separator "
        f"{'none' if options.thousands is None else repr(options.thousands)}); say how the "
        f"file writes numbers {written}",
        label,
    )
    return pa.array(parsed, pa.string())


def _times(
    table: pa.Table,
    column: str,
    options: FileOptions,
    label: str,
    zone: ZoneInfo,
    keep_offsets: bool,
) -> Any:
    values = table.column(column)
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        return _typed_times(values, zone, keep_offsets)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        if options.date_format in DATE_FORMATS:
            values = values.cast(pa.string())
        else:
            return values  # numbers without an epoch format: the checks refuse them
    texts = values.to_pylist()
    if options.date_format in DATE_FORMATS:
        parsed = _epoch(texts, options.date_format, zone)
    elif options.date_format is not None:
        parsed = _formatted(texts, options.date_format, zone)
    else:
        texts = _unslashed(table, column, texts, options.day_first, label)
        epochish = [v is not None and bool(_EPOCH_LIKE.fullmatch(v)) for v in texts]
        _refuse(
            table,
            column,
            epochish,
            "times that look like seconds since 1970 (epoch); say so with --date-format epoch "
            "(or epoch-ms for milliseconds)",
            label,
        )
        parsed = _iso(texts, zone)
    return _as_text(texts, parsed, keep_offsets)


def _typed_times(values: pa.ChunkedArray, zone: ZoneInfo, keep_offsets: bool) -> Any:
    if pa.types.is_date(values.type):
        return values
    series = values.to_pandas()
    if series.dt.tz is not None:
        series = series.dt.tz_convert(zone)
    elif keep_offsets:
        series = _localized(series, zone)
    else:
        return values
    if not keep_offsets:
        series = series.dt.tz_localize(None)
    return pa.array(series, pa.timestamp("us", str(series.dt.tz) if keep_offsets else None))


def _localized(series: pd.Series, zone: ZoneInfo) -> pd.Series:
    """Wall-clock times in the shop's zone: in the hour a clock repeats, the later
    (standard-time) reading; in the hour it skips, the time just after."""
    return series.dt.tz_localize(zone, ambiguous=False, nonexistent="shift_forward")


def _unslashed(
    table: pa.Table, column: str, texts: list[str | None], day_first: bool | None, label: str
) -> list[str | None]:
    """``05/03/2024`` as ISO (``2024-03-05`` or ``2024-05-03``) when the options say which
    is the day; refused when they do not."""
    matches = [None if v is None else _SLASHED.fullmatch(v) for v in texts]
    if day_first is None:
        _refuse(
            table,
            column,
            [m is not None for m in matches],
            "dates written day and month without saying which comes first (05/03/2024 is "
            "5 March or 3 May); say so with --day-first or --month-first, or give "
            "--date-format (e.g. %d/%m/%Y)",
            label,
        )
        return texts
    out: list[str | None] = []
    for text, match in zip(texts, matches, strict=True):
        if match is None:
            out.append(text)
            continue
        first, second, year, rest = match.groups()
        day, month = (first, second) if day_first else (second, first)
        out.append(f"{year}-{int(month):02d}-{int(day):02d}{rest}")
    return out


def _iso(texts: list[str | None], zone: ZoneInfo) -> pd.Series:
    """ISO 8601 times in the shop's zone: one with an offset converted, one without taken
    as written there."""
    series = pd.Series(texts, dtype=object)
    with_offset = series.map(lambda v: v is not None and bool(_OFFSET.search(v[10:])))
    parsed = pd.Series(pd.NaT, index=series.index, dtype=pd.DatetimeTZDtype("us", zone))
    naive = series[~with_offset]
    if len(naive):
        local = pd.to_datetime(naive, format="ISO8601", errors="coerce").astype("datetime64[us]")
        parsed[~with_offset] = _localized(local, zone)
    aware = series[with_offset]
    if len(aware):
        instants = pd.to_datetime(aware, format="ISO8601", utc=True, errors="coerce")
        parsed[with_offset] = instants.dt.tz_convert(zone)
    return parsed


def _formatted(texts: list[str | None], pattern: str, zone: ZoneInfo) -> pd.Series:
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), format=pattern, errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:  # %z in the pattern
        return parsed.dt.tz_convert(zone)
    return _localized(parsed, zone)


def _epoch(texts: list[Any], unit_name: str, zone: ZoneInfo) -> pd.Series:
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    unit = "ms" if unit_name == "epoch-ms" else "s"
    return pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce").dt.tz_convert(zone)


def _as_text(texts: list[str | None], parsed: pd.Series, keep_offsets: bool) -> pa.Array:
    """Parsed times as ISO text (with the shop's offset, or its wall clock); what did not
    parse stays as written, so the checks after refuse it with the value the user wrote."""
    fraction = ".%f" if (parsed.dt.microsecond.fillna(0) != 0).any() else ""
    pattern = f"%Y-%m-%d %H:%M:%S{fraction}{'%z' if keep_offsets else ''}"
    written = parsed.dt.strftime(pattern).tolist()
    parsed_ok = parsed.notna().tolist()
    return pa.array(
        [new if ok else old for new, ok, old in zip(written, parsed_ok, texts, strict=True)],
        pa.string(),
    )
