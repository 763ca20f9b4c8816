"""Read-side getters for customers: the 360 view of one customer and the paged search.

Both run a fixed number of queries whatever a customer holds (rows are prefetched per
relation, never loaded one by one), so a customer with 10,000 orders costs what one with
none does, apart from the rows themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from math import ceil
from typing import Any

from django.db import connection, models
from django.db.models import (
    Aggregate,
    Count,
    Exists,
    F,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Lower

from retain.customers import profile
from retain.customers.models import (
    Complaint,
    Consent,
    ConsentChannel,
    Customer,
    CustomerTag,
    Event,
    Identity,
    IdentityKind,
    Order,
    RescoringRun,
    Score,
    Subscription,
    SurveyAnswer,
)
from retain.errors import NotFound, RuleViolation

#: How many of the newest behavioural events the 360 view carries.
RECENT_EVENTS = 20
#: The largest page :func:`search_customers` serves.
MAX_PAGE_SIZE = 200
#: The last page number :func:`search_customers` takes: a million pages of the largest size
#: are far more customers than a store holds, and the row offset stays well inside the
#: 64-bit integers both engines compute it in (a larger page number made the database fail).
MAX_PAGE = 1_000_000
#: Fields of a customer's latest :class:`~retain.customers.models.Score` a search may filter on.
SCORE_FILTERS = ("lifecycle_stage", "churn_risk", "rfm_segment")
#: Fields of the customer itself a search may filter on.
PROFILE_FILTERS = ("acquisition_channel", "segment")


def get_customer_360(
    external_id: str, *, orders_page: int = 1, recent_events: bool = True
) -> Customer:
    """The customer with the shop's id ``external_id``, everything known of them prefetched.

    The returned customer has ``score`` loaded (or no score row), ``tag_names`` (its tags'
    names, sorted; read in the customer's own query), and its identities, consents,
    subscriptions, complaints and survey answers prefetched; ``recent_events``
    holds its :data:`RECENT_EVENTS` newest events and ``order_page`` the page
    ``orders_page`` of its orders (:func:`retain.customers.profile.orders_page`: a customer
    may hold thousands). Raises :class:`~retain.errors.NotFound` for an unknown id. Nine
    queries in all; eight with ``recent_events=False`` (no ``recent_events``: the console
    pages the events itself).
    """
    if "\x00" in external_id:  # PostgreSQL cannot compare text with a NUL byte; none is stored
        raise NotFound(f"no customer with id {external_id!r}", customer_id=external_id)
    newest_events = Event.objects.order_by("-occurred_at", "-id")
    lists = [
        "identities",
        "consents",
        Prefetch("subscriptions", queryset=Subscription.objects.order_by("-started_at", "-id")),
        Prefetch("complaints", queryset=Complaint.objects.order_by("-opened_at", "-id")),
        Prefetch("survey_answers", queryset=SurveyAnswer.objects.order_by("-answered_at", "-id")),
    ]
    if recent_events:
        lists.append(
            Prefetch("events", queryset=newest_events[:RECENT_EVENTS], to_attr="recent_events")
        )
    customer = (
        Customer.objects.select_related("score")
        .prefetch_related(*lists)
        .annotate(tag_names=Subquery(_tag_names(OuterRef("pk"))))
        .filter(external_id=external_id)
        .first()
    )
    if customer is None:
        raise NotFound(f"no customer with id {external_id!r}", customer_id=external_id)
    customer.tag_names = sorted(customer.tag_names or [])
    customer.order_page = profile.orders_page(customer, orders_page)
    return customer


class _JSONList(Aggregate):
    """The values of a group as one JSON list (NULL for none), on both stores."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="JSONB_AGG", **extra)


def _tag_names(customer: Any) -> QuerySet[CustomerTag]:
    """The names of the tags of ``customer`` (a key or an expression) as one JSON list: the
    360 reads them inside the customer's own query, not in a query of their own."""
    mine = CustomerTag.objects.filter(customer=customer).order_by()
    return mine.values("customer").annotate(names=_JSONList("name")).values("names")


def score_of(customer: Customer) -> Score | None:
    """The customer's latest score, or ``None`` when it was never scored."""
    try:
        return customer.score
    except Customer.score.RelatedObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class CustomerPage:
    """One page of a search, with what a client needs to fetch the next one.

    ``total_capped``: more than ``total`` customers match (the search counted no further, see
    ``count_limit``); ``pages`` then covers the first ``total`` only.
    """

    items: list[Customer]
    total: int
    page: int
    page_size: int
    total_capped: bool = False
    pages: int = field(init=False)
    next_page: int | None = field(init=False)
    previous_page: int | None = field(init=False)

    def __post_init__(self) -> None:
        pages = ceil(self.total / self.page_size)
        object.__setattr__(self, "pages", pages)
        object.__setattr__(self, "next_page", self.page + 1 if self.page < pages else None)
        previous = min(self.page - 1, pages) if self.page > 1 else None
        object.__setattr__(self, "previous_page", previous or None)


#: The orders a search may sort by: ``id`` (the shop's id), ``value`` (predicted 12-month
#: value, highest first) and ``risk`` (P(alive), lowest first); customers never scored come
#: last in the last two, and ties go by id, so pages never overlap or skip.
SORTS = {
    "id": ("external_id",),
    "value": (F("score__clv_12m").desc(nulls_last=True), "external_id"),
    "risk": (F("score__p_alive").asc(nulls_last=True), "external_id"),
}
#: What a customer said about email: yes, no, or never asked.
EMAIL_CONSENTS = ("granted", "refused", "unknown")


def search_customers(
    query: str = "",
    *,
    page: int = 1,
    page_size: int = 50,
    filters: dict[str, str] | None = None,
    min_value_decile: int | None = None,
    email_consent: str = "",
    sort: str = "id",
    count_limit: int | None = None,
) -> CustomerPage:
    """Customers whose id, email or name contains ``query`` (case-insensitive), paged.

    Ordered as :data:`SORTS` says (by the shop's customer id unless told), so pages never
    overlap or skip. ``filters`` match exactly on :data:`SCORE_FILTERS` (the latest score) and
    :data:`PROFILE_FILTERS`; empty values are ignored; ``min_value_decile`` keeps customers
    in that value decile or above (10 is the top tenth); ``email_consent`` is one of
    :data:`EMAIL_CONSENTS`. A page past the last one is empty. ``count_limit`` stops counting
    past that many matches (a million-row count costs more than the page itself).
    Two queries: the count and the page (with each customer's score joined).
    """
    if not 1 <= page <= MAX_PAGE:
        raise RuleViolation(f"page must be between 1 and {MAX_PAGE}; got {page}", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise RuleViolation(
            f"page_size must be between 1 and {MAX_PAGE_SIZE}; got {page_size}",
            field="page_size",
        )
    if sort not in SORTS:
        raise RuleViolation(f"sort must be one of {', '.join(SORTS)}; got {sort!r}", field="sort")
    matching = matching_customers(
        query, filters or {}, min_value_decile=min_value_decile, email_consent=email_consent
    )
    if count_limit is None:
        total, capped = matching.count(), False
    else:
        total, capped = count_matches(matching, limit=count_limit)
    start = (page - 1) * page_size
    items = list(matching.select_related("score").order_by(*SORTS[sort])[start : start + page_size])
    return CustomerPage(
        items=items, total=total, page=page, page_size=page_size, total_capped=capped
    )


@dataclass(frozen=True)
class ListPage:
    """One page of the console's list: the rows, and whether a next page has any."""

    items: list[Customer]
    page: int
    has_next: bool


def list_page(
    customers: QuerySet[Customer], *, page: int = 1, page_size: int = 50, sort: str = "id"
) -> ListPage:
    """A page of ``customers`` (from :func:`matching_customers`) in the order :data:`SORTS`
    names, with its scores; ``page_size + 1`` rows and no count, which at a million
    customers can cost more than the page (the console counts apart, :func:`count_matches`).

    By value or risk, the scored customers come from an inner join in the plain order an
    index walks (the outer join's ``NULLS LAST`` order made PostgreSQL sort every match),
    and those never scored follow by id once the scored ones run out.
    """
    if not 1 <= page <= MAX_PAGE:
        raise RuleViolation(f"page must be between 1 and {MAX_PAGE}; got {page}", field="page")
    if sort not in SORTS:
        raise RuleViolation(f"sort must be one of {', '.join(SORTS)}; got {sort!r}", field="sort")
    start, wanted = (page - 1) * page_size, page_size + 1
    if sort not in SCORED_SORTS:
        rows = list(
            customers.select_related("score").order_by(*SORTS[sort])[start : start + wanted]
        )
        return ListPage(items=rows[:page_size], page=page, has_next=len(rows) > page_size)
    scored = customers.filter(score__isnull=False)
    rows = list(
        scored.select_related("score").order_by(*SCORED_SORTS[sort])[start : start + wanted]
    )
    if len(rows) < wanted:
        scored_before = start + len(rows) if rows else scored.count()
        skip = max(start - scored_before, 0)
        unscored = customers.filter(score__isnull=True).order_by("external_id")
        rows += list(unscored[skip : skip + wanted - len(rows)])
    return ListPage(items=rows[:page_size], page=page, has_next=len(rows) > page_size)


#: :data:`SORTS` for scored customers only (an inner join): the plain orders.
SCORED_SORTS = {
    "value": ("-score__clv_12m", "external_id"),
    "risk": ("score__p_alive", "external_id"),
}


def count_matches(customers: QuerySet[Customer], *, limit: int) -> tuple[int, bool]:
    """How many ``customers`` there are, counting no further than ``limit``: the count and
    whether more than ``limit`` match."""
    counted = customers.values("pk")[: limit + 1].count()
    return min(counted, limit), counted > limit


def matching_customers(
    query: str = "",
    filters: dict[str, str] | None = None,
    *,
    min_value_decile: int | None = None,
    email_consent: str = "",
) -> QuerySet[Customer]:
    """The customers a search matches, unordered (see :func:`search_customers`): the list's
    export streams the same set."""
    filters = filters or {}
    _refuse_nul_bytes({"q": query, "email_consent": email_consent, **filters})
    customers = _matching(query.strip(), filters)
    if min_value_decile is not None:
        customers = customers.filter(score__value_decile__gte=min_value_decile)
    if email_consent:
        customers = _with_email_consent(customers, email_consent)
    return customers


def _with_email_consent(customers: QuerySet[Customer], wanted: str) -> QuerySet[Customer]:
    if wanted not in EMAIL_CONSENTS:
        raise RuleViolation(
            f"email_consent must be one of {', '.join(EMAIL_CONSENTS)}; got {wanted!r}",
            field="email_consent",
        )
    said = Consent.objects.filter(customer=OuterRef("pk"), channel=ConsentChannel.EMAIL)
    if wanted == "unknown":
        return customers.filter(~Exists(said))
    return customers.filter(Exists(said.filter(granted=wanted == "granted")))


def _refuse_nul_bytes(texts: dict[str, str | None]) -> None:
    """A NUL byte matches nothing stored, and PostgreSQL refuses to compare text holding one
    (the search failed with a server error): the parameter is refused by its name."""
    for name, text in texts.items():
        if text and "\x00" in text:
            raise RuleViolation(
                f"{name} must not contain a NUL byte (\\x00); got {text[:40]!r}", field=name
            )


def _matching(query: str, filters: dict[str, str]) -> QuerySet[Customer]:
    unknown = sorted(set(filters) - set(SCORE_FILTERS) - set(PROFILE_FILTERS))
    if unknown:
        raise RuleViolation(
            f"unknown filter(s) {', '.join(unknown)}; use "
            f"{', '.join(SCORE_FILTERS + PROFILE_FILTERS)}",
            field=unknown[0],
        )
    customers = Customer.objects.all()
    if query:
        # lower(column) LIKE lower('%query%'): the form PostgreSQL's trigram indexes
        # (migration 0003) are built on, so a substring search does not read every customer.
        wanted = Lower(Value(query))
        customers = customers.alias(
            low_id=Lower("external_id"), low_email=Lower("email"), low_name=Lower("name")
        ).filter(
            Q(low_id__contains=wanted)
            | Q(low_email__contains=wanted)
            | Q(low_name__contains=wanted)
        )
    for name, value in filters.items():
        if value:
            lookup = f"score__{name}" if name in SCORE_FILTERS else name
            customers = customers.filter(**{lookup: value})
    return customers


#: The values a search's select lists offer: each filter, read from the store.
OPTION_FIELDS = {
    "lifecycle_stage": Score,
    "churn_risk": Score,
    "rfm_segment": Score,
    "value_decile": Score,
    "acquisition_channel": Customer,
    "segment": Customer,
}


def filter_options() -> dict[str, list[str | int]]:
    """The distinct non-blank values of each filter (:data:`OPTION_FIELDS`), sorted.

    Read by skipping through each column's index (one probe per distinct value, a recursive
    query both engines run) rather than grouping a million rows: a few milliseconds whatever
    the store's size, so every render of the list can afford it. Counts per value are not
    given for that reason (the home page shows the stages' and segments' sizes).
    """
    return {name: _distinct(model, name) for name, model in OPTION_FIELDS.items()}


def _distinct(model: type[models.Model], field_name: str) -> list[str | int]:
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field_name).column)
    below = -1 if isinstance(model._meta.get_field(field_name), models.IntegerField) else ""
    sql = (
        f"WITH RECURSIVE seen(value) AS ("
        f" SELECT MIN({column}) FROM {table} WHERE {column} > %s"
        f" UNION ALL"
        f" SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > seen.value)"
        f" FROM seen WHERE seen.value IS NOT NULL"
        f") SELECT value FROM seen WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [below])
        return [row[0] for row in cursor.fetchall()]


def export_rows(customers: QuerySet[Customer], *, batch: int = 2000) -> Iterator[list[Any]]:
    """Every customer of ``customers`` with its latest score, ordered by the shop's id, as
    the list's export writes them (:data:`EXPORT_COLUMNS`); read ``batch`` at a time, each
    batch after the last id seen, so a million rows stream in bounded memory and without a
    cursor held open between requests' chunks."""
    last = None
    while True:
        chunk = customers.select_related("score").order_by("external_id")
        if last is not None:
            chunk = chunk.filter(external_id__gt=last)
        found = list(chunk[:batch])
        for customer in found:
            score = score_of(customer)
            own = [customer.external_id, customer.name, customer.email,
                   customer.acquisition_channel, customer.segment]  # fmt: skip
            yield own + [getattr(score, name) if score else None for name in _SCORE_COLUMNS]
        if len(found) < batch:
            return
        last = found[-1].external_id


_SCORE_COLUMNS = (
    "lifecycle_stage", "rfm_segment", "rfm_score", "churn_risk", "p_alive", "clv_12m",
    "value_decile", "expected_purchases_30d", "expected_purchases_90d",
    "expected_purchases_365d", "next_order_date", "model", "scored_at",
)  # fmt: skip
#: The export's header: the customer's own fields, then its latest score's.
EXPORT_COLUMNS = (
    "customer_id", "name", "email", "acquisition_channel", "segment", *_SCORE_COLUMNS,
)  # fmt: skip


def last_rescoring() -> RescoringRun | None:
    """The last rescoring recorded (``None`` before the first): ``/healthz`` shows it."""
    return RescoringRun.objects.order_by("-id").first()


def orders_by_shop_id(order_id: Any) -> QuerySet[Order]:
    """The order with the shop's id ``order_id``: a value, or an expression of the caller's
    query (``OuterRef``), so ``Exists`` asks for many ids in one query."""
    return Order.objects.filter(external_id=order_id)


def linked_anonymous_ids(anonymous_id: Any) -> QuerySet[Identity]:
    """The identity that links ``anonymous_id`` (a value or an expression, as above) to a
    customer, if one does."""
    return Identity.objects.filter(kind=IdentityKind.ANONYMOUS_ID, value=anonymous_id)


#: Value deciles counted as the big spenders (10 is the top tenth by predicted value).
BIG_SPENDER_DECILES = (9, 10)


@dataclass(frozen=True)
class GroupFigure:
    """A group of customers (a stage or a segment): its size and predicted 12-month value."""

    name: str
    customers: int
    value: float


@dataclass(frozen=True)
class StoreOverview:
    """The store at a glance: what the console's home shows."""

    customers: int
    orders: int
    revenue: float
    stages: list[GroupFigure]
    segments: list[GroupFigure]
    slipping_count: int
    slipping: list[Customer]
    last_rescoring: RescoringRun | None
    #: When the aggregates were kept (by that rescoring); ``None`` when computed for this view.
    figures_at: dt.datetime | None = None


def store_overview(*, slipping_shown: int = 10) -> StoreOverview:
    """Counts, revenue (completed orders), stages and RFM segments with their value, and the
    big spenders slipping away (top two value deciles at high churn risk, most valuable
    first). The aggregates over every order and score are those the last successful
    rescoring kept (:func:`store_figures`; live before the first), so the page costs a few
    indexed reads whatever the store's size."""
    kept = (
        RescoringRun.objects.filter(succeeded=True).exclude(figures={})
        .order_by("-id").values_list("figures", "finished_at").first()
    )  # fmt: skip
    figures, figures_at = kept if kept else (store_figures(), None)
    slipping = Score.objects.filter(value_decile__in=BIG_SPENDER_DECILES, churn_risk="high")
    return StoreOverview(
        customers=Customer.objects.count(),
        orders=figures["orders"],
        revenue=float(figures["revenue"]),
        stages=[GroupFigure(*group) for group in figures["stages"]],
        segments=[GroupFigure(*group) for group in figures["segments"]],
        slipping_count=figures["slipping"],
        slipping=[
            score.customer
            for score in slipping.select_related("customer").order_by("-clv_12m")[:slipping_shown]
        ],
        last_rescoring=last_rescoring(),
        figures_at=figures_at,
    )


CENT = Decimal("0.01")


def store_figures() -> dict[str, Any]:
    """The aggregates the home shows, as JSON: completed orders and their revenue, customers
    and predicted value per lifecycle stage and per RFM segment, and how many big spenders
    are slipping away. Each rescoring keeps them on its run (:class:`RescoringRun`)."""
    orders = Order.objects.exclude(status="refunded").aggregate(
        count=Count("pk"), sum=Sum("amount")
    )
    return {
        "orders": orders["count"],
        "revenue": str(Decimal(orders["sum"] or 0).quantize(CENT)),  # cents on every engine
        "stages": [list(vars(group).values()) for group in _groups("lifecycle_stage")],
        "segments": [list(vars(group).values()) for group in _groups("rfm_segment")],
        "slipping": Score.objects.filter(
            value_decile__in=BIG_SPENDER_DECILES, churn_risk="high"
        ).count(),
    }


def _groups(field_name: str) -> list[GroupFigure]:
    rows = (
        Score.objects.exclude(**{field_name: ""})
        .values(field_name)
        .annotate(customers=Count("pk"), value=Sum("clv_12m"))
        .order_by("-customers", field_name)
    )
    return [
        GroupFigure(name=row[field_name], customers=row["customers"], value=row["value"] or 0.0)
        for row in rows
    ]


@dataclass(frozen=True)
class Contact:
    """What acting for a customer needs, read for a batch of them at once: where to write,
    in which language and time zone, whether they consented, and the profile and scores a
    message's template may use."""

    customer_id: int
    external_id: str
    email: str
    #: ``True``/``False`` when the customer said so, ``None`` when never asked.
    email_consent: bool | None
    #: The customer's own (``traits.locale`` or ``traits.language``), ``None`` if not known.
    locale: str | None
    #: An IANA zone from ``traits.timezone`` (``Asia/Bangkok``), ``None`` if not known.
    time_zone: str | None
    profile: dict[str, Any]
    scores: dict[str, Any] | None


#: The score fields a template sees.
CONTACT_SCORES = ("p_alive", "clv_12m", "value_decile", "churn_risk", "rfm_segment",
                  "lifecycle_stage", "next_order_date", "expected_purchases_90d")  # fmt: skip


def contacts(customer_ids: list[int]) -> dict[int, Contact]:
    """The :class:`Contact` of each customer of ``customer_ids`` (three queries in all)."""
    customers = Customer.objects.filter(pk__in=customer_ids).values(
        "pk", "external_id", "email", "name", "traits", "acquisition_channel", "segment",
        "signed_up_at", "birthday",
    )  # fmt: skip
    consents = dict(
        Consent.objects.filter(customer_id__in=customer_ids, channel=ConsentChannel.EMAIL)
        .values_list("customer_id", "granted")
    )  # fmt: skip
    scores = {
        row.pop("customer_id"): row
        for row in Score.objects.filter(customer_id__in=customer_ids).values(
            "customer_id", *CONTACT_SCORES
        )
    }
    found = {}
    for row in customers:
        traits = row["traits"] if isinstance(row["traits"], dict) else {}
        locale = traits.get("locale") or traits.get("language")
        zone = traits.get("timezone") or traits.get("time_zone")
        name = row["name"]
        found[row["pk"]] = Contact(
            customer_id=row["pk"], external_id=row["external_id"], email=row["email"],
            email_consent=consents.get(row["pk"]),
            locale=locale if isinstance(locale, str) else None,
            time_zone=zone if isinstance(zone, str) else None,
            profile={
                "external_id": row["external_id"], "email": row["email"], "name": name,
                "first_name": name.split()[0] if name.strip() else "", "traits": traits,
                "acquisition_channel": row["acquisition_channel"], "segment": row["segment"],
                "signed_up_at": row["signed_up_at"], "birthday": row["birthday"],
            },
            scores=scores.get(row["pk"]),
        )  # fmt: skip
    return found


def revenue_within(customer: Any, start: Any, end: Any) -> Any:
    """The sum of a customer's completed orders placed in ``(start, end)`` (0 without any;
    the start is left out, so the order that entered a customer is not counted),
    as an expression for another domain's query to embed: ``customer``, ``start`` and
    ``end`` are expressions of that query (``OuterRef("customer_id")``, ...)."""
    orders = (
        Order.objects.filter(customer=customer, ordered_at__gt=start, ordered_at__lt=end)
        .exclude(status="refunded")
        .order_by()
        .values("customer")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(orders, output_field=models.DecimalField()), Value(Decimal(0)))


def did_within(customer: Any, name: str, start: Any, end: Any) -> Exists:
    """Whether a customer did ``name`` in ``(start, end)`` (after the moment that entered
    them, so an entering order is no conversion): placed a completed order for
    ``Order Completed``, else tracked an event of that name. An expression for another
    domain's query (``customer``, ``start`` and ``end`` are its expressions)."""
    if name == "Order Completed":
        return Exists(
            Order.objects.filter(customer=customer, ordered_at__gt=start, ordered_at__lt=end)
            .exclude(status="refunded")
        )  # fmt: skip
    return Exists(
        Event.objects.filter(
            customer=customer, name=name, occurred_at__gt=start, occurred_at__lt=end
        )
    )


def customer_id_of(external_id: str) -> int:
    """The store's id of the customer with the shop's id ``external_id``; NotFound if none."""
    found = Customer.objects.filter(external_id=external_id).values_list("pk", flat=True).first()
    if found is None:
        raise NotFound(f"no customer with the id {external_id!r}", customer=external_id)
    return found


def latest_order(customer_id: int) -> dict[str, Any] | None:
    """The customer's latest order as plain values (``order_id``, ``total``, ``currency``,
    ``ordered_at``), or ``None``: what a preview shows a message about an order with."""
    order = (
        Order.objects.filter(customer_id=customer_id)
        .order_by("-ordered_at", "-pk")
        .values("external_id", "amount", "currency", "ordered_at")
        .first()
    )
    if order is None:
        return None
    return {"order_id": order["external_id"], "total": float(order["amount"]),
            "currency": order["currency"], "ordered_at": order["ordered_at"]}  # fmt: skip
