"""The command-line options that say how to read a user's file, defined once.

``retain rfm``, ``retain analyze`` and ``retain import`` take the same column mapping and
format options and hand them to the same reader (:func:`retain.io.read_file`), so a file
means the same thing to each command. The upload door (``POST /api/v1/imports/{kind}``)
takes them as query parameters under the same names and builds them with the same function
(:func:`build_file_options`), so a file means the same thing there too.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from retain.errors import DataError

if TYPE_CHECKING:  # retain.io loads ibis and pandas: only the commands reading files need it
    from retain.io import FileOptions

#: Each role and what its column holds.
ROLES = {
    "customer_id": "the customer id",
    "order_id": "the order id",
    "ordered_at": "when the order was placed",
    "amount": "the order's value",
    "status": "the order's status (refunded, cancelled, ... do not count)",
}
#: What each format option means, for the CLI's help and the API's documentation.
FORMATS = {
    "delimiter": "the CSV column separator (default: the one of , ; tab | in the header line)",
    "decimal": "the decimal mark, . or , (default .)",
    "thousands": "the thousands separator in amounts, one of , . ' _ or a space (default: none)",
    "date_format": "a strftime pattern such as %d/%m/%Y, or epoch (seconds) or epoch-ms "
    "(default: ISO 8601)",
    "day_first": "dates like 05/03/2024 are day/month/year",
    "month_first": "dates like 05/03/2024 are month/day/year",
    "timezone": "the shop's time zone (e.g. Europe/Berlin): times with an offset are converted "
    "to it and days are its days; times without one are taken as its (default UTC)",
}
#: The options in the order they are checked: a value is refused together with the ones
#: before it, so an error names the option that made the set invalid.
_FIELDS = (
    *ROLES,
    "delimiter", "decimal", "thousands", "date_format", "day_first", "timezone",
)  # fmt: skip


def flag(option: str) -> str:
    """An option as the command line spells it: ``date_format`` is ``--date-format``."""
    return "--" + option.replace("_", "-")


def build_file_options(
    given: Mapping[str, Any], *, spell: Callable[[str], str] = flag
) -> FileOptions:
    """The reader's options from the values a user gave, by option name (missing or None:
    the default), for every door: the CLI's parsed arguments and the API's query.

    ``month_first`` (true) is ``day_first=False``. A bad value raises a :class:`DataError`
    that starts with the option as the door spells it (``spell``: ``--timezone`` on the
    command line, ``timezone`` in a query) and carries it as ``details["parameter"]``.
    """
    from retain.io import FileOptions

    values = {name: given[name] for name in _FIELDS if given.get(name) is not None}
    source = {name: name for name in values}
    if given.get("month_first"):
        if values.get("day_first"):
            _refuse("month_first", "day-first and month-first exclude each other", spell)
        values["day_first"], source["day_first"] = False, "month_first"
    accepted: dict[str, Any] = {}
    for name in _FIELDS:  # one at a time: the first that fails is the one to name
        if name not in values:
            continue
        try:
            FileOptions(**accepted, **{name: values[name]})
        except DataError as error:
            _refuse(source[name], error.message, spell)
        accepted[name] = values[name]
    return FileOptions(**accepted)


def _refuse(option: str, message: str, spell: Callable[[str], str]) -> None:
    raise DataError(f"{spell(option)}: {message}", parameter=spell(option))


def add_file_options(parser: argparse.ArgumentParser) -> None:
    """Add the column mapping and format options to a command's parser."""
    columns = parser.add_argument_group(
        "columns", "the file's column for each role, when it is not under the standard name"
    )
    for role, meaning in ROLES.items():
        columns.add_argument(flag(role), dest=role, default=role, metavar="COL", help=meaning)
    formats = parser.add_argument_group("formats", "how the file writes its values")
    formats.add_argument("--delimiter", help=FORMATS["delimiter"])
    formats.add_argument("--decimal", default=".", choices=[".", ","], help=FORMATS["decimal"])
    formats.add_argument(
        "--thousands", choices=[",", ".", " ", "'", "_"], help=FORMATS["thousands"]
    )
    formats.add_argument(
        "--date-format", metavar="FORMAT", help=FORMATS["date_format"].replace("%", "%%")
    )
    order = formats.add_mutually_exclusive_group()
    order.add_argument(
        "--day-first", dest="day_first", action="store_const", const=True,
        help=FORMATS["day_first"],
    )  # fmt: skip
    order.add_argument(
        "--month-first", dest="day_first", action="store_const", const=False,
        help=FORMATS["month_first"],
    )  # fmt: skip
    formats.add_argument("--timezone", default="UTC", metavar="ZONE", help=FORMATS["timezone"])


def file_options(args: argparse.Namespace) -> FileOptions:
    """The reader's options from parsed arguments (see :func:`add_file_options`)."""
    return build_file_options(vars(args))


@contextmanager
def in_file_terms(options: FileOptions) -> Iterator[None]:
    """Errors name the file's own columns: ``column 'Date'`` where the checks, which run on
    the renamed table, said ``column 'ordered_at'``."""
    try:
        yield
    except DataError as error:
        option = flag(error.column or "")
        missing = error.message.startswith(f"column {error.column!r}: missing")
        if error.bad_rows is None and missing and error.column in ROLES:
            error.message += f"; name the file's column for it with {option} COL"
        for source, role in options.renames().items():
            error.message = error.message.replace(f"column {role!r}", f"column {source!r} ({role})")
        error.args = (error.message,)
        raise
