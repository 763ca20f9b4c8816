"""Audience filters: one small predicate language over what the store knows of a customer,
for journeys' audiences and later segments of the operator's own.

A filter is plain data (it comes from a journey's YAML or JSON document)::

    {"all": [{"field": "p_alive", "lt": 0.3},
             {"field": "value_decile", "gte": 8},
             {"not": {"field": "consent.email", "eq": false}}]}

- ``all`` / ``any`` take a list of filters, ``not`` one filter;
- a leaf names a ``field`` and exactly one operator: ``eq``, ``ne``, ``lt``, ``lte``,
  ``gt``, ``gte``, ``in`` (a list) or ``exists`` (true/false). Numbers are ordered; strings,
  consents (``consent.email``: true or false) and traits (``traits.plan``: strings) are
  compared for equality only; ages (``days_since_last_order``, ``days_since_last_activity``,
  in days, as of the ``now`` given) are ordered only;
- ``tags`` is the customer's set of tags: ``eq`` a tag name (has that tag), ``ne`` (has it
  not), ``in`` a list (has any of them), ``exists`` (has any tag at all, or none).

The same filter compiles to a Django ``Q`` over customers (:func:`audience_q`), so an audience
of a million customers is found by the database, and evaluates in Python for one customer
(:func:`matches`), as a journey deciding for the customer in front of it does; the two agree
(``tests/customers/test_audiences.py``). A customer without a value (not scored yet, no
consent recorded, no such trait) satisfies no comparison; ``ne`` is ``not eq`` and ``not``
is plain negation, on both sides.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Exists, F, Func, Max, Model, OuterRef, Q, Value
from django.utils import timezone

from retain.customers.labels import TRAIT_NAME, tag_name_problem
from retain.customers.models import Consent, ConsentChannel, Customer, CustomerTag, Event, Order
from retain.errors import DataError

COMPARISONS = ("eq", "ne", "lt", "lte", "gt", "gte")
OPERATORS = (*COMPARISONS, "in", "exists")
#: The deepest nesting of all/any/not a filter may have.
MAX_DEPTH = 16
#: The largest age a filter may name, in days (about 270 years: "never" in practice).
MAX_AGE_DAYS = 100_000
#: The field of a customer's tags.
TAGS = "tags"


class _Age:
    """The kind of an age field (days since the latest order or activity)."""


class _Tags:
    """The kind of the tags field (a set of tag names)."""


@dataclass(frozen=True)
class Field:
    """A field a filter may name: its ORM path from a customer, its kind of value, and how
    to read it from a customer in Python (``None``: no value)."""

    path: str
    kind: type
    read: Callable[[Customer], Any]


def _score(name: str) -> Callable[[Customer], Any]:
    return lambda customer: getattr(customer.score, name) if _has_score(customer) else None


def _profile(name: str) -> Callable[[Customer], Any]:
    return lambda customer: getattr(customer, name)


#: The fields of customers and their scores a filter may name (traits and consent aside).
FIELDS: dict[str, Field] = {
    "email": Field("email", str, _profile("email")),
    "name": Field("name", str, _profile("name")),
    "acquisition_channel": Field("acquisition_channel", str, _profile("acquisition_channel")),
    "segment": Field("segment", str, _profile("segment")),
    "p_alive": Field("score__p_alive", float, _score("p_alive")),
    "clv_12m": Field("score__clv_12m", float, _score("clv_12m")),
    "expected_purchases_90d": Field(
        "score__expected_purchases_90d", float, _score("expected_purchases_90d")
    ),
    "value_decile": Field("score__value_decile", int, _score("value_decile")),
    "churn_risk": Field("score__churn_risk", str, _score("churn_risk")),
    "rfm_segment": Field("score__rfm_segment", str, _score("rfm_segment")),
    "lifecycle_stage": Field("score__lifecycle_stage", str, _score("lifecycle_stage")),
}


#: Ages in days, as of a given moment: the model whose rows date them, and their time field.
AGES: dict[str, tuple[type[Model], str]] = {
    "days_since_last_order": (Order, "ordered_at"),
    "days_since_last_activity": (Event, "occurred_at"),
}


def audience_q(spec: Any, *, now: dt.datetime | None = None) -> Q:
    """The filter ``spec`` as a ``Q`` over customers, ages as of ``now`` (default: now);
    :class:`DataError` naming the path of a bad part of it."""
    return _compile(check_filter(spec), now or timezone.now())


def matches(
    spec: Any,
    customer: Customer,
    *,
    now: dt.datetime | None = None,
    consents: Mapping[str, bool] | None = None,
    tags: Collection[str] | None = None,
) -> bool:
    """Whether ``customer`` is in the audience ``spec``, ages as of ``now``; ``consents``
    (channel -> granted) and ``tags`` (the customer's tag names) if the caller has them at
    hand, else read from the store when the filter names one (and the customer's latest
    order and event when it names an age): one query each."""
    checked = check_filter(spec)
    names = _names(checked)
    if consents is None and any(name.startswith("consent.") for name in names):
        consents = dict(Consent.objects.filter(customer=customer).values_list("channel", "granted"))
    if tags is None and TAGS in names:
        tags = CustomerTag.objects.filter(customer=customer).values_list("name", flat=True)
    latest = {
        name: model.objects.filter(customer=customer).aggregate(latest=Max(moment))["latest"]
        for name, (model, moment) in AGES.items() if name in names
    }  # fmt: skip
    known = _Known(consents or {}, frozenset(tags or ()), latest, now or timezone.now())
    return _evaluate(checked, customer, known)


@dataclass(frozen=True)
class _Known:
    """What a single customer's evaluation reads besides the customer."""

    consents: Mapping[str, bool]
    tags: frozenset[str]
    latest: Mapping[str, dt.datetime | None]
    now: dt.datetime


def check_filter(spec: Any, path: str = "filter", depth: int = 1) -> Any:
    """``spec`` if it is a well-formed filter; else :class:`DataError` with the path of the
    bad part (``filter.all[2].lt``) and what was expected."""
    if depth > MAX_DEPTH:
        raise _bad(path, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(spec, dict):
        raise _bad(path, "a filter is an object: all, any, not, or field with an operator")
    if "all" in spec or "any" in spec:
        key = "all" if "all" in spec else "any"
        if len(spec) != 1 or not isinstance(spec[key], list) or not spec[key]:
            raise _bad(path, f"{key} takes a non-empty list of filters and nothing beside it")
        for index, part in enumerate(spec[key]):
            check_filter(part, f"{path}.{key}[{index}]", depth + 1)
        return spec
    if "not" in spec:
        if len(spec) != 1:
            raise _bad(path, "not takes one filter and nothing beside it")
        check_filter(spec["not"], f"{path}.not", depth + 1)
        return spec
    name = spec.get("field")
    if not isinstance(name, str):
        raise _bad(f"{path}.field", "a field name (such as p_alive or traits.plan)")
    _field_kind(name, f"{path}.field")
    operators = [key for key in spec if key != "field"]
    if len(operators) != 1 or operators[0] not in OPERATORS:
        raise _bad(path, f"exactly one operator of {', '.join(OPERATORS)}")
    _check_value(name, operators[0], spec[operators[0]], f"{path}.{operators[0]}")
    return spec


def _field_kind(name: str, path: str) -> type | None:
    """The kind of value of a field (``None``: any JSON scalar, for traits)."""
    if name in FIELDS:
        return FIELDS[name].kind
    if name in AGES:
        return _Age
    if name == TAGS:
        return _Tags
    if name.startswith("traits.") and TRAIT_NAME.fullmatch(name.removeprefix("traits.")):
        return None
    if name.startswith("consent.") and name.removeprefix("consent.") in ConsentChannel.values:
        return bool
    known = ", ".join([*FIELDS, *AGES, TAGS, "traits.<name>", "consent.<channel>"])
    raise _bad(path, f"a known field ({known}), not {name!r}")


def _check_value(name: str, operator: str, value: Any, path: str) -> None:
    kind = _field_kind(name, path)
    if operator == "exists":
        if not isinstance(value, bool):
            raise _bad(path, "true or false")
        return
    values = value if operator == "in" else [value]
    if operator == "in" and (not isinstance(value, list) or not value):
        raise _bad(path, "a non-empty list of values")
    if kind is _Tags:
        if operator not in ("eq", "ne", "in"):
            raise _bad(path, "a tag name with eq, ne or in, or true or false with exists (tags)")
        for index, item in enumerate(values):
            if problem := tag_name_problem(item):
                where = f"{path}[{index}]" if operator == "in" else path
                raise _bad(where, f"a tag name, not {item!r}: {problem}")
        return
    for item in values:
        if not _is_kind(item, kind, ordered=operator in ("lt", "lte", "gt", "gte")):
            wanted = {None: "a string (traits are compared for equality)",
                      bool: "true or false (compared for equality)",
                      str: "a string (compared for equality)", int: "a whole number",
                      _Age: f"a number of days from 0 to {MAX_AGE_DAYS:,} with lt, lte, gt or gte",
                      float: "a number"}[kind]  # fmt: skip
            raise _bad(path, f"{wanted} for {name}, not {item!r}")


def _is_kind(value: Any, kind: type | None, *, ordered: bool) -> bool:
    """Whether a filter's value fits its field. Strings and traits (strings only, for now:
    SQLite reads a JSON true as 1, so other JSON values would not compare alike on both
    stores) are compared for equality only: the database orders strings by its collation,
    Python by code point."""
    if kind in (None, str, bool):
        return not ordered and isinstance(value, bool if kind is bool else str)
    if kind is _Age:
        return ordered and _is_kind(value, float, ordered=True) and 0 <= value <= MAX_AGE_DAYS
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and (kind is float or float(value).is_integer())


def _compile(spec: dict[str, Any], now: dt.datetime) -> Q:
    if "all" in spec:
        return _joined(spec["all"], Q.__and__, now)
    if "any" in spec:
        return _joined(spec["any"], Q.__or__, now)
    if "not" in spec:
        return ~_compile(spec["not"], now)
    name, operator, value = _leaf(spec)
    if name in AGES:
        return _age_q(name, operator, value, now)
    if name == TAGS:
        return _tags_q(operator, value)
    if name.startswith("consent."):
        return _consent_q(name.removeprefix("consent."), operator, value)
    path = FIELDS[name].path if name in FIELDS else "traits__" + name.removeprefix("traits.")
    if name.startswith("traits.") and operator in ("eq", "ne"):
        # SQLite reads a JSON true as 1 and finds it equal to "true": a string only.
        found = Q(_TraitIsString(name.removeprefix("traits."))) & Q(**{path: value})
        return found if operator == "eq" else ~found
    if operator == "exists":
        present = Q(**{f"{path}__isnull": False})
        return present if value else ~present
    if operator == "in":  # Django's JSON ``__in`` on SQLite takes "true" for a JSON true
        return _joined([{"field": name, "eq": item} for item in value], Q.__or__, now)
    lookup = path if operator in ("eq", "ne") else f"{path}__{operator}"
    compared = Q(**{f"{path}__isnull": False, lookup: value})
    return ~compared if operator == "ne" else compared


class _TraitIsString(Func):
    """Whether a customer's trait ``key`` holds a JSON string (``key`` is a checked name);
    false, never NULL, when it holds none, so a ``not`` around it keeps that customer."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, key: str) -> None:
        super().__init__(F("traits"), Value(key))
        self.key = key

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        clone = self.copy()
        clone.set_source_expressions([self.source_expressions[0], Value(f"$.{self.key}")])
        return clone.as_sql(
            compiler, connection, template="COALESCE(json_type(%(expressions)s) = 'text', FALSE)"
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, arg_joiner=" -> ",
            template="COALESCE(jsonb_typeof(%(expressions)s) = 'string', FALSE)",
        )  # fmt: skip


def _joined(parts: list[dict[str, Any]], join: Callable[[Q, Q], Q], now: dt.datetime) -> Q:
    compiled = [_compile(part, now) for part in parts]
    result = compiled[0]
    for part in compiled[1:]:
        result = join(result, part)
    return result


def _age_q(name: str, operator: str, days: float, now: dt.datetime) -> Q:
    """Age since the latest row > / >= / < / <= ``days``: whether any row is newer than the
    moment ``days`` ago (a customer with no row has no age and satisfies none); ``exists``:
    whether there is a row (``days`` is then true or false)."""
    model, moment = AGES[name]
    rows = model.objects.filter(customer=OuterRef("pk"))
    if operator == "exists":
        return Q(Exists(rows)) if days else ~Q(Exists(rows))
    since = now - dt.timedelta(days=days)
    newer = {"gt": "gte", "gte": "gt", "lt": "gt", "lte": "gte"}[operator]
    recent = Exists(rows.filter(**{f"{moment}__{newer}": since}))
    return Q(recent) if operator in ("lt", "lte") else Q(Exists(rows)) & ~Q(recent)


def _tags_q(operator: str, value: Any) -> Q:
    """Whether a tag row of the customer's exists: any (``exists``), the one named (``eq``,
    ``ne``), one of those listed (``in``)."""
    tagged = CustomerTag.objects.filter(customer=OuterRef("pk"))
    if operator == "exists":
        return Q(Exists(tagged)) if value else ~Q(Exists(tagged))
    if operator == "in":
        return Q(Exists(tagged.filter(name__in=value)))
    has = Q(Exists(tagged.filter(name=value)))
    return ~has if operator == "ne" else has


def _consent_q(channel: str, operator: str, value: Any) -> Q:
    recorded = Consent.objects.filter(customer=OuterRef("pk"), channel=channel)
    if operator == "exists":
        return Q(Exists(recorded)) if value else ~Q(Exists(recorded))
    if operator == "in":
        return Q(Exists(recorded.filter(granted__in=value)))
    if operator == "ne":
        return ~Q(Exists(recorded.filter(granted=value)))
    return Q(Exists(recorded.filter(granted=value)))


def _names(spec: dict[str, Any]) -> set[str]:
    """The fields a filter names."""
    if "all" in spec or "any" in spec:
        return set().union(*(_names(part) for part in spec.get("all", spec.get("any"))))
    if "not" in spec:
        return _names(spec["not"])
    return {spec["field"]}


def _evaluate(spec: dict[str, Any], customer: Customer, known: _Known) -> bool:
    if "all" in spec:
        return all(_evaluate(part, customer, known) for part in spec["all"])
    if "any" in spec:
        return any(_evaluate(part, customer, known) for part in spec["any"])
    if "not" in spec:
        return not _evaluate(spec["not"], customer, known)
    name, operator, wanted = _leaf(spec)
    if name == TAGS:
        return _has_tags(known.tags, operator, wanted)
    if name in FIELDS:
        value = FIELDS[name].read(customer)
    elif name in AGES:
        latest = known.latest.get(name)
        value = None if latest is None else (known.now - latest) / dt.timedelta(days=1)
    elif name.startswith("consent."):
        value = known.consents.get(name.removeprefix("consent."))
    else:
        traits = customer.traits if isinstance(customer.traits, dict) else {}
        key = name.removeprefix("traits.")
        if operator == "exists":  # a key holding null exists, as the database sees it
            return (key in traits) == wanted
        value = traits.get(key)
    if operator == "exists":
        return (value is not None) == wanted
    if operator == "ne":
        return not _compare(value, "eq", wanted)
    return _compare(value, operator, wanted)


def _has_tags(tags: frozenset[str], operator: str, wanted: Any) -> bool:
    if operator == "exists":
        return bool(tags) == wanted
    if operator == "in":
        return not tags.isdisjoint(wanted)
    return (wanted in tags) == (operator == "eq")


def _leaf(spec: dict[str, Any]) -> tuple[str, str, Any]:
    """A checked leaf's field, operator and value."""
    (operator,) = [key for key in spec if key != "field"]
    return spec["field"], operator, spec[operator]


def _compare(value: Any, operator: str, wanted: Any) -> bool:
    """A comparison as the database makes it: no value satisfies none, and values of another
    type never match (a trait stored as 1 is not "1")."""
    if value is None:
        return False
    if operator == "in":
        return any(_compare(value, "eq", item) for item in wanted)
    if isinstance(value, bool | str) or isinstance(wanted, bool | str):
        return operator == "eq" and type(value) is type(wanted) and value == wanted
    return {"eq": value == wanted, "lt": value < wanted, "lte": value <= wanted,
            "gt": value > wanted, "gte": value >= wanted}[operator]  # fmt: skip


def _has_score(customer: Customer) -> bool:
    try:
        customer.score  # noqa: B018 (the reverse one-to-one raises when there is none)
    except Customer.score.RelatedObjectDoesNotExist:
        return False
    return True


def _bad(path: str, expected: str) -> DataError:
    return DataError(f"{path}: expected {expected}", field=path)


def customers_matching(spec: Any, customer_ids: Iterable[int], *, now: dt.datetime) -> set[int]:
    """Which of ``customer_ids`` are in the audience ``spec`` (one query): for a batch of
    customers a journey decides about at once."""
    ids = list(customer_ids)
    chosen = Customer.objects.filter(pk__in=ids).filter(audience_q(spec, now=now))
    return set(chosen.values_list("pk", flat=True))


def audience_ids(spec: Any, *, now: dt.datetime) -> tuple[str, tuple[Any, ...]]:
    """The SQL (and its parameters) that selects the ids (column ``id``) of the customers in
    the audience ``spec`` (everybody for ``None``), for a caller that inserts rows for a
    whole audience in one statement (a broadcast to a million customers)."""
    customers = Customer.objects.all()
    if spec is not None:
        customers = customers.filter(audience_q(spec, now=now))
    sql, parameters = customers.values("id").query.sql_with_params()
    return sql, tuple(parameters)
