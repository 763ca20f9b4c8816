"""Read-side getters for customers: the 360 view of one customer and the paged search.

Both run a fixed number of queries whatever a customer holds (rows are prefetched per
relation, never loaded one by one), so a customer with 10,000 orders costs what one with
none does, apart from the rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from retain.customers import profile
from retain.customers.models import (
    Complaint,
    Customer,
    Event,
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

    The returned customer has ``score`` loaded (or no score row), and its identities,
    consents, subscriptions, complaints and survey answers prefetched; ``recent_events``
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
        .filter(external_id=external_id)
        .first()
    )
    if customer is None:
        raise NotFound(f"no customer with id {external_id!r}", customer_id=external_id)
    customer.order_page = profile.orders_page(customer, orders_page)
    return customer


def score_of(customer: Customer) -> Score | None:
    """The customer's latest score, or ``None`` when it was never scored."""
    try:
        return customer.score
    except Customer.score.RelatedObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class CustomerPage:
    """One page of a search, with what a client needs to fetch the next one."""

    items: list[Customer]
    total: int
    page: int
    page_size: int
    pages: int = field(init=False)
    next_page: int | None = field(init=False)
    previous_page: int | None = field(init=False)

    def __post_init__(self) -> None:
        pages = ceil(self.total / self.page_size)
        object.__setattr__(self, "pages", pages)
        object.__setattr__(self, "next_page", self.page + 1 if self.page < pages else None)
        previous = min(self.page - 1, pages) if self.page > 1 else None
        object.__setattr__(self, "previous_page", previous or None)


def search_customers(
    query: str = "",
    *,
    page: int = 1,
    page_size: int = 50,
    filters: dict[str, str] | None = None,
    min_value_decile: int | None = None,
) -> CustomerPage:
    """Customers whose id, email or name contains ``query`` (case-insensitive), paged.

    Ordered by the shop's customer id, which is unique, so pages never overlap or skip.
    ``filters`` match exactly on :data:`SCORE_FILTERS` (the latest score) and
    :data:`PROFILE_FILTERS`; empty values are ignored; ``min_value_decile`` keeps customers
    in that value decile or above (10 is the top tenth). A page past the last one is empty.
    Two queries: the count and the page (with each customer's score joined).
    """
    if not 1 <= page <= MAX_PAGE:
        raise RuleViolation(f"page must be between 1 and {MAX_PAGE}; got {page}", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise RuleViolation(
            f"page_size must be between 1 and {MAX_PAGE_SIZE}; got {page_size}",
            field="page_size",
        )
    _refuse_nul_bytes({"q": query, **(filters or {})})
    matching = _matching(query.strip(), filters or {})
    if min_value_decile is not None:
        matching = matching.filter(score__value_decile__gte=min_value_decile)
    total = matching.count()
    start = (page - 1) * page_size
    items = list(
        matching.select_related("score").order_by("external_id")[start : start + page_size]
    )
    return CustomerPage(items=items, total=total, page=page, page_size=page_size)


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
        customers = customers.filter(
            Q(external_id__icontains=query) | Q(email__icontains=query) | Q(name__icontains=query)
        )
    for name, value in filters.items():
        if value:
            lookup = f"score__{name}" if name in SCORE_FILTERS else name
            customers = customers.filter(**{lookup: value})
    return customers


def last_rescoring() -> RescoringRun | None:
    """The last rescoring recorded (``None`` before the first): ``/healthz`` shows it."""
    return RescoringRun.objects.order_by("-id").first()


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


def store_overview(*, slipping_shown: int = 10) -> StoreOverview:
    """Counts, revenue (completed orders), stages and RFM segments with their value, and the
    big spenders slipping away (top two value deciles at high churn risk, most valuable
    first). A fixed number of aggregate queries, whatever the store's size."""
    orders = Order.objects.exclude(status="refunded").aggregate(
        count=Count("pk"), sum=Sum("amount")
    )
    slipping = Score.objects.filter(value_decile__in=BIG_SPENDER_DECILES, churn_risk="high")
    return StoreOverview(
        customers=Customer.objects.count(),
        orders=orders["count"],
        revenue=float(orders["sum"] or 0),
        stages=_groups("lifecycle_stage"),
        segments=_groups("rfm_segment"),
        slipping_count=slipping.count(),
        slipping=[
            score.customer
            for score in slipping.select_related("customer").order_by("-clv_12m")[:slipping_shown]
        ],
        last_rescoring=last_rescoring(),
    )


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
