"""The command-line options that say how to read a user's file, defined once.

``retain rfm``, ``retain analyze`` and ``retain import`` take the same column mapping and
format options and hand them to the same reader (:func:`retain.io.read_file`), so a file
means the same thing to each command.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from retain.errors import DataError

if TYPE_CHECKING:  # retain.io loads ibis and pandas: only the commands reading files need it
    from retain.io import FileOptions

_ROLES = (
    ("customer_id", "the customer id"),
    ("order_id", "the order id"),
    ("ordered_at", "when the order was placed"),
    ("amount", "the order's value"),
    ("status", "the order's status (refunded, cancelled, ... do not count)"),
)


def add_file_options(parser: argparse.ArgumentParser) -> None:
    """Add the column mapping and format options to a command's parser."""
    columns = parser.add_argument_group(
        "columns", "the file's column for each role, when it is not under the standard name"
    )
    for role, meaning in _ROLES:
        flag = "--" + role.replace("_", "-")
        columns.add_argument(flag, dest=role, default=role, metavar="COL", help=meaning)
    formats = parser.add_argument_group("formats", "how the file writes its values")
    formats.add_argument(
        "--delimiter",
        help="the CSV column separator (default: the one of , ; tab | in the header line)",
    )
    formats.add_argument(
        "--decimal", default=".", choices=[".", ","], help="the decimal mark (default .)"
    )
    formats.add_argument(
        "--thousands",
        choices=[",", ".", " ", "'", "_"],
        help="the thousands separator in amounts (default: none)",
    )
    formats.add_argument(
        "--date-format",
        metavar="FORMAT",
        help="a strftime pattern such as %%d/%%m/%%Y, or epoch (seconds) or epoch-ms "
        "(default: ISO 8601)",
    )
    order = formats.add_mutually_exclusive_group()
    order.add_argument(
        "--day-first",
        dest="day_first",
        action="store_const",
        const=True,
        help="dates like 05/03/2024 are day/month/year",
    )
    order.add_argument(
        "--month-first",
        dest="day_first",
        action="store_const",
        const=False,
        help="dates like 05/03/2024 are month/day/year",
    )
    formats.add_argument(
        "--timezone",
        default="UTC",
        metavar="ZONE",
        help="the shop's time zone (e.g. Europe/Berlin): times with an offset are converted to "
        "it and days are its days; times without one are taken as its (default UTC)",
    )


def file_options(args: argparse.Namespace) -> FileOptions:
    """The reader's options from parsed arguments (see :func:`add_file_options`)."""
    from retain.io import FileOptions

    return FileOptions(
        customer_id=args.customer_id,
        order_id=args.order_id,
        ordered_at=args.ordered_at,
        amount=args.amount,
        status=args.status,
        delimiter=args.delimiter,
        decimal=args.decimal,
        thousands=args.thousands,
        date_format=args.date_format,
        day_first=args.day_first,
        timezone=args.timezone,
    )


@contextmanager
def in_file_terms(options: FileOptions) -> Iterator[None]:
    """Errors name the file's own columns: ``column 'Date'`` where the checks, which run on
    the renamed table, said ``column 'ordered_at'``."""
    try:
        yield
    except DataError as error:
        flag = "--" + (error.column or "").replace("_", "-")
        missing = error.message.startswith(f"column {error.column!r}: missing")
        if error.bad_rows is None and missing and error.column in dict(_ROLES):
            error.message += f"; name the file's column for it with {flag} COL"
        for source, role in options.renames().items():
            error.message = error.message.replace(f"column {role!r}", f"column {source!r} ({role})")
        error.args = (error.message,)
        raise
