"""What a journey or the operator may write on a customer: tag names and traits (and the
customer keys they are written for).

Shared by the services that write them (``add_tags``, ``set_trait``) and the audience filters
that read them, so a filter can never ask for a tag or a trait no writer could have set.

- A **tag name** is kept exactly as given, case included ("VIP" and "vip" are two tags): 1 to
  :data:`~retain.customers.models.TAG_LENGTH` characters, no space at either end, no control
  character (NUL, newline, tab, ...) and valid Unicode. Trimming or lowercasing would
  quietly turn one tag into another; refusing says so.
- A **trait name** is an identifier (:data:`TRAIT_NAME`), the same rule as the audience field
  ``traits.<name>``; a **trait value** is a string of at most :data:`TRAIT_TEXT_LENGTH`
  characters (no NUL, valid Unicode), a finite number (whole numbers in 64 bits, which both
  stores' JSON functions read exactly), true, false or null.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from retain.customers.models import TAG_LENGTH
from retain.errors import DataError

#: A trait's name: what ``traits.<name>`` in an audience filter accepts.
TRAIT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: The longest string a trait set by a journey may hold.
TRAIT_TEXT_LENGTH = 1_000
#: Whole numbers a trait may hold: 64-bit, as SQLite's JSON functions read them exactly.
TRAIT_INTEGERS = range(-(2**63), 2**63)
#: The largest customer key (PostgreSQL's ``bigint``).
LARGEST_KEY = 2**63 - 1


def tag_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a tag name, or ``None`` if it can."""
    if not isinstance(name, str):
        return f"a tag name is text, not {type(name).__name__}"
    if not name:
        return "a tag name is not empty"
    if len(name) > TAG_LENGTH:
        return f"a tag name has at most {TAG_LENGTH} characters, not {len(name)}"
    if name != name.strip():
        return "a tag name has no space at either end (tags are kept exactly as given)"
    if bad := next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None):
        return f"a tag name holds no control character or lone surrogate, not U+{ord(bad):04X}"
    return None


def check_tag_names(names: Iterable[str]) -> list[str]:
    """The distinct tag names of ``names``, in the order given; :class:`DataError` naming
    the first bad one (and how many are bad) if any is."""
    if isinstance(names, str | bytes):
        raise DataError(
            f"tag names are a list of names, not one text: write [{names!r}]",
            field="tags", example=names,
        )  # fmt: skip
    given = list(dict.fromkeys(names))
    bad = [(name, problem) for name in given if (problem := tag_name_problem(name))]
    if bad:
        (name, problem), count = bad[0], len(bad)
        more = f" ({count} of the {len(given)} tag names given are bad)" if count > 1 else ""
        raise DataError(
            f"tag {_shown(name)} refused: {problem}{more}",
            field="tags", example=name, bad_tags=count,
        )  # fmt: skip
    return given


def check_customer_keys(customer_ids: Iterable[int]) -> list[int]:
    """The distinct customer keys of ``customer_ids``, sorted; :class:`DataError` with the
    count and an example if any is not a key (a whole number from 1, in 64 bits)."""
    if isinstance(customer_ids, int | str | bytes):
        raise DataError(
            f"customer_ids are a list of customer keys, not one value: write [{customer_ids!r}]",
            field="customer_ids", example=customer_ids,
        )  # fmt: skip
    given = list(customer_ids)
    bad = [key for key in given if isinstance(key, bool) or not isinstance(key, int)
           or not 1 <= key <= LARGEST_KEY]  # fmt: skip
    if bad:
        raise DataError(
            f"customer_ids: {len(bad)} of {len(given)} values are not customer keys (whole "
            f"numbers from 1), e.g. {_shown(bad[0])}",
            field="customer_ids", bad_rows=len(bad), example=bad[0],
        )  # fmt: skip
    return sorted(set(given))


def check_trait(name: Any, value: Any) -> None:
    """:class:`DataError` naming the trait if ``name`` is not a trait name or ``value`` not
    a value a trait may hold."""
    if not isinstance(name, str) or not TRAIT_NAME.fullmatch(name):
        raise DataError(
            f"trait name {_shown(name)} refused: a trait name is letters, digits and _ "
            "(not starting with a digit), at most 64 characters, such as plan or last_gift",
            field="trait", example=name,
        )  # fmt: skip
    if problem := _trait_value_problem(value):
        raise DataError(f"trait {name!r} refused: {problem}", field=f"traits.{name}", example=value)


def _trait_value_problem(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value not in TRAIT_INTEGERS:
            return "a whole number fits in 64 bits (-2**63 to 2**63 - 1)"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"a number is finite, not {value}"
    if isinstance(value, str):
        if len(value) > TRAIT_TEXT_LENGTH:
            return f"a text has at most {TRAIT_TEXT_LENGTH:,} characters, not {len(value):,}"
        if "\x00" in value:
            return "a text holds no NUL character (\\u0000)"
        if any("\ud800" <= c <= "\udfff" for c in value):
            return "a text holds no lone surrogate (not valid Unicode)"
        return None
    return f"a value is a text, a number, true, false or null, not {type(value).__name__}"


def _shown(value: Any) -> str:
    """A refused name as the user wrote it, cut short if long."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
