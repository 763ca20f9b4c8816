"""The customers list: search, filters, sorting, paging; the table alone for htmx.

Counting every match of a broad search at a million customers costs more than the page
itself, so the rows come first and the count in a request of its own, which stops at
:data:`COUNT_LIMIT` ("more than 10,000"); paging covers those first matches (a person narrows
the search to go further, and the export has them all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from retain.console.frame import page
from retain.customers.queries import (
    EMAIL_CONSENTS,
    PROFILE_FILTERS,
    SCORE_FILTERS,
    SORTS,
    count_matches,
    filter_options,
    list_page,
    matching_customers,
    score_of,
)

PAGE_SIZE = 50
#: How far the list counts matches (and pages): beyond, it says "more than".
COUNT_LIMIT = 10_000
#: The longest search text taken (ids, emails and names are at most 254 characters).
MAX_QUERY = 254
#: Who may export the list (every customer's email, in a file that leaves the console).
EXPORT_ROLES = frozenset({"admin", "analyst"})


class BadParameter(Exception):
    """A parameter of the list's address that it cannot use: the message says which, in the
    reader's language."""


@dataclass(frozen=True)
class ListParameters:
    """What the list's address asks for, checked."""

    query: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    min_value_decile: int | None = None
    email_consent: str = ""
    sort: str = "id"
    page: int = 1

    def search_arguments(self) -> dict:
        return {
            "filters": self.filters,
            "min_value_decile": self.min_value_decile,
            "email_consent": self.email_consent,
        }

    def address(self, *, page: int | None = None, sort: str | None = None) -> str:
        """The query string of this list, on another page or in another order."""
        params = QueryDict(mutable=True)
        if self.query:
            params["q"] = self.query
        for name, value in self.filters.items():
            if value:
                params[name] = value
        if self.min_value_decile is not None:
            params["value_decile"] = str(self.min_value_decile)
        if self.email_consent:
            params["email_consent"] = self.email_consent
        chosen = sort or self.sort
        if chosen != "id":
            params["sort"] = chosen
        if page and page > 1:
            params["page"] = str(page)
        return params.urlencode()

    def export_address(self) -> str:
        """The query string of the export: the same customers, every page."""
        return ListParameters(
            self.query, self.filters, self.min_value_decile, self.email_consent
        ).address()


def read_parameters(params: QueryDict) -> ListParameters:
    """The list's parameters, or :class:`BadParameter` naming the first one wrong."""
    for name, values in params.lists():
        if any("\x00" in value for value in values) or "\x00" in name:
            raise BadParameter(
                _("“%(name)s” holds a NUL character, which no customer's data holds.")
                % {"name": name.replace("\x00", "\\x00")}
            )
    query = params.get("q", "").strip()
    if len(query) > MAX_QUERY:
        raise BadParameter(
            _("The search text is %(length)s characters long; at most %(limit)s are searched.")
            % {"length": len(query), "limit": MAX_QUERY}
        )
    filters = {name: params.get(name, "") for name in SCORE_FILTERS + PROFILE_FILTERS}
    return ListParameters(
        query=query,
        filters=filters,
        min_value_decile=_whole(params, "value_decile", 1, 10, default=None),
        email_consent=_one_of(params, "email_consent", ("", *EMAIL_CONSENTS)),
        sort=_one_of(params, "sort", tuple(SORTS), default="id"),
        page=_whole(params, "page", 1, COUNT_LIMIT // PAGE_SIZE, default=1),
    )


def _whole(params: QueryDict, name: str, low: int, high: int, *, default: int | None) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise BadParameter(
            _("“%(name)s” must be a whole number from %(low)s to %(high)s; got “%(value)s”.")
            % {"name": name, "low": low, "high": high, "value": text[:40]}
        )
    return int(text)


def _one_of(params: QueryDict, name: str, allowed: tuple[str, ...], default: str = "") -> str:
    value = params.get(name, "") or default
    if value not in allowed:
        raise BadParameter(
            _("“%(name)s” must be one of %(allowed)s; got “%(value)s”.")
            % {"name": name, "allowed": ", ".join(a for a in allowed if a), "value": value[:40]}
        )
    return value


@page()
def customer_list(request: HttpRequest) -> HttpResponse:
    """The list, whole; for htmx (the form's changes, the pages) the results alone. The rows
    come without a count, which follows in a request of its own (:func:`customer_count`)."""
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    try:
        wanted = read_parameters(request.GET)
        matching = matching_customers(wanted.query, **wanted.search_arguments())
        found = list_page(matching, page=wanted.page, page_size=PAGE_SIZE, sort=wanted.sort)
        if not found.items and found.page > 1:
            total, _capped = count_matches(matching, limit=COUNT_LIMIT)
            raise BadParameter(
                _("Page %(page)s is past the last page, %(last)s.")
                % {"page": found.page, "last": max(ceil(total / PAGE_SIZE), 1)}
            )
    except BadParameter as error:
        return refuse(request, str(error), partial=partial)
    context = {
        "wanted": wanted,
        "found": found,
        "can_export": request.user.role in EXPORT_ROLES,
        "rows": [(customer, score_of(customer)) for customer in found.items],
        "previous": wanted.address(page=found.page - 1) if found.page > 1 else None,
        "next": wanted.address(page=found.page + 1) if found.has_next else None,
        "export": wanted.export_address(),
    }
    if not partial:
        context["selects"] = _selects(wanted)
    response = _respond(request, context, partial=partial)
    if partial:  # the address bar shows the list's own address, without empty fields
        address = wanted.address(page=wanted.page)
        response["HX-Push-Url"] = reverse("customers:list") + (f"?{address}" if address else "")
    return response


@page()
def customer_count(request: HttpRequest) -> HttpResponse:
    """How many customers the list's search and filters match, up to :data:`COUNT_LIMIT`
    ("more than 10,000" beyond): asked by the list once its rows are shown."""
    try:
        wanted = read_parameters(request.GET)
        matching = matching_customers(wanted.query, **wanted.search_arguments())
    except BadParameter as error:
        return refuse(request, str(error))
    total, capped = count_matches(matching, limit=COUNT_LIMIT)
    context = {"total": total, "capped": capped, "count_limit": COUNT_LIMIT, "wanted": wanted}
    partial = request.headers.get("HX-Request") == "true"
    template = "customers/list_count.html" if partial else "customers/count_page.html"
    return render(request, template, context)


def refuse(request: HttpRequest, message: str, *, partial: bool = False) -> HttpResponse:
    """The list's page (or its results alone) saying what is wrong with the address: 400."""
    context = {"error": message, "wanted": ListParameters()}
    if not partial:
        context["selects"] = _selects(ListParameters())
    return _respond(request, context, partial=partial, status=400)


@dataclass(frozen=True)
class Select:
    """One select list of the form: its parameter, label, choices and the chosen value."""

    name: str
    label: str
    choices: list[tuple[str, str]]
    chosen: str


def _selects(wanted: ListParameters) -> list[Select]:
    options = filter_options()
    anything = [("", _("Any"))]

    def from_data(name: str, label: str, chosen: str) -> Select:
        values = [str(value) for value in options[name]]
        if chosen and chosen not in values:  # asked for, though no customer has it now
            values.append(chosen)
        return Select(name, label, anything + [(value, value) for value in values], chosen)

    decile = "" if wanted.min_value_decile is None else str(wanted.min_value_decile)
    return [
        from_data(
            "lifecycle_stage", _("Lifecycle stage"), wanted.filters.get("lifecycle_stage", "")
        ),
        from_data("rfm_segment", _("RFM segment"), wanted.filters.get("rfm_segment", "")),
        from_data("churn_risk", _("Churn risk"), wanted.filters.get("churn_risk", "")),
        from_data("value_decile", _("Value decile, at least"), decile),
        from_data(
            "acquisition_channel",
            _("Acquisition channel"),
            wanted.filters.get("acquisition_channel", ""),
        ),
        from_data("segment", _("Own segment"), wanted.filters.get("segment", "")),
        Select(
            "email_consent",
            _("Email consent"),
            [
                *anything,
                ("granted", _("Granted")),
                ("refused", _("Refused")),
                ("unknown", _("Unknown")),
            ],
            wanted.email_consent,
        ),
        Select(
            "sort",
            _("Sort by"),
            [
                ("id", _("Customer id")),
                ("value", _("Value, highest first")),
                ("risk", _("Risk, highest first (P(alive) lowest)")),
            ],
            wanted.sort,
        ),
    ]


def _respond(
    request: HttpRequest, context: dict, *, partial: bool, status: int = 200
) -> HttpResponse:
    template = "customers/list_results.html" if partial else "customers/list.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
