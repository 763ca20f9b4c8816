"""What a template sees of a context: records that name themselves in errors, and parts
that are absent for this customer.

A template reads ``customer.first_name`` or ``order.total``. Jinja's own errors for a
missing key speak of ``'dict object'``; a :class:`Record` knows its path, so the error says
``customer has no 'nickname' (it has: birthday, email, ...)``. A part the customer does not
have (no order yet, a journey not started by an event) is :class:`Absent`: false in an
``{% if order %}``, equal to ``none``, and an error naming the part as soon as the template
reads from it or prints it, rather than an empty line in an email.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

from jinja2.exceptions import UndefinedError


class Record(Mapping[str, Any]):
    """A read-only view of one part of the context (``customer``, ``customer.traits``)
    that knows its own path. Nested mappings and lists come back as records and tuples, so
    a template cannot change what the caller passed."""

    __slots__ = ("_data", "_path", "_seen")

    def __init__(self, path: str, data: Mapping[str, Any]) -> None:
        self._path = path
        self._data = data
        self._seen: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self._seen:
            return self._seen[key]
        value = wrap(self._data[key], f"{self._path}.{key}")
        self._seen[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<{self._path}>"

    def __str__(self) -> NoReturn:
        names = ", ".join(sorted(map(str, self._data))[:12]) or "nothing"
        raise UndefinedError(
            f"{self._path} is a group of values, not one: print one of them (it has: {names})"
        )

    __html__ = __str__


def record_path(record: Record) -> str:
    """Where a record is in the context (``customer.traits``); a function, not an
    attribute, so templates cannot read it."""
    return record._path


def missing_key(record: Record, name: object) -> str:
    """The error for a key a record does not have, with the keys it has."""
    names = sorted(map(str, record._data))
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"{record._path} has no {name!r} (it has: {shown or 'nothing'})"


def wrap(value: Any, path: str) -> Any:
    """A value as templates see it: mappings as records, lists as tuples, the rest as is."""
    if isinstance(value, Record):
        return value
    if isinstance(value, Mapping):
        return Record(path, value)
    if isinstance(value, list | tuple):
        return tuple(wrap(item, f"{path}[{index}]") for index, item in enumerate(value))
    return value


class Absent:
    """A part of the context this customer does not have (``order`` before any order).

    It is false and equal to ``None``, so ``{% if order %}`` and ``order is none`` read
    naturally; reading from it or printing it is an error that names the part."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def problem(self, reading: object = None) -> str:
        what = f"{self.name}.{reading}" if isinstance(reading, str) else self.name
        return (
            f"{what}: there is no {self.name} for this customer; put it inside "
            f"{{% if {self.name} %}} ... {{% endif %}}"
        )

    def fail(self, reading: object = None) -> NoReturn:
        error = UndefinedError(self.problem(reading))
        error.retain_variable = self.name  # type: ignore[attr-defined]
        raise error

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, Absent)

    def __hash__(self) -> int:
        return hash(None)

    def __repr__(self) -> str:
        return f"<no {self.name}>"

    def __str__(self) -> NoReturn:
        self.fail()

    __html__ = __str__

    def __iter__(self) -> NoReturn:
        self.fail()

    def __len__(self) -> NoReturn:
        self.fail()


def template_values(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context's top-level values for Jinja: mappings as records, ``None`` as
    :class:`Absent`."""
    values: dict[str, Any] = {}
    for name, value in context.items():
        if not isinstance(name, str):
            raise TypeError(f"a context's names are strings, not {name!r}")
        values[name] = Absent(name) if value is None else wrap(value, name)
    return values
