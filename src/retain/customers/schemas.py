"""What the customers API returns and accepts (Ninja schemas, so OpenAPI documents them).

Money (order amounts, subscription MRR) is a decimal **string** such as ``"19.90"``: exact,
as stored, with no binary-float rounding. Text the shop left blank comes back as ``null``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from retain.customers.models import ConsentChannel, Customer
from retain.customers.queries import MAX_PAGE, MAX_PAGE_SIZE, score_of

ChurnRisk = Literal["high", "medium", "low"]
#: Text without a NUL byte (PostgreSQL stores none, and refuses to compare one).
NO_NUL = r"^[^\x00]*$"
MONEY = "a decimal string, exact as stored, e.g. '19.90'"


def _money(amount: Decimal) -> str:
    return format(amount, "f")


class _BlankTextAsNull(Schema):
    """A customer's optional text fields: blank in the store, ``null`` in the API."""

    @staticmethod
    def resolve_email(customer: Customer) -> str | None:
        return customer.email or None

    @staticmethod
    def resolve_name(customer: Customer) -> str | None:
        return customer.name or None

    @staticmethod
    def resolve_acquisition_channel(customer: Customer) -> str | None:
        return customer.acquisition_channel or None

    @staticmethod
    def resolve_segment(customer: Customer) -> str | None:
        return customer.segment or None


class ProfileOut(_BlankTextAsNull):
    email: str | None
    name: str | None
    signed_up_at: datetime | None
    acquisition_channel: str | None
    birthday: date | None
    segment: str | None = Field(description="the shop's own segment")
    traits: dict[str, Any]


class IdentityOut(Schema):
    kind: str
    value: str
    created_at: datetime


class ConsentOut(Schema):
    granted: bool
    source: str | None
    updated_at: datetime

    @staticmethod
    def resolve_source(consent: Any) -> str | None:
        return consent.source or None


class ConsentByChannel(Schema):
    """Every channel, ``null`` where the customer never said yes or no."""

    email: ConsentOut | None
    sms: ConsentOut | None
    push: ConsentOut | None
    phone: ConsentOut | None


class OrderOut(Schema):
    order_id: str = Field(alias="external_id")
    ordered_at: datetime
    amount: str = Field(description=MONEY)
    currency: str | None
    channel: str | None
    status: str

    @staticmethod
    def resolve_amount(order: Any) -> str:
        return _money(order.amount)

    @staticmethod
    def resolve_currency(order: Any) -> str | None:
        return order.currency or None

    @staticmethod
    def resolve_channel(order: Any) -> str | None:
        return order.channel or None


class SubscriptionOut(Schema):
    plan: str
    started_at: datetime
    ended_at: datetime | None
    mrr: str = Field(description=f"monthly recurring revenue, {MONEY}")

    @staticmethod
    def resolve_mrr(subscription: Any) -> str:
        return _money(subscription.mrr)


class ScoresOut(Schema):
    p_alive: float = Field(description="probability the customer is still a customer")
    expected_purchases_30d: float
    expected_purchases_90d: float
    expected_purchases_365d: float
    clv_12m: float = Field(description="expected value of the next 12 months")
    churn_risk: ChurnRisk
    next_order_date: date | None
    value_decile: int = Field(description="1 (lowest) to 10 (highest value)")
    rfm_segment: str | None
    rfm_score: str | None
    lifecycle_stage: str | None
    model: str = Field(description="the model that produced the scores")
    scored_at: datetime

    @staticmethod
    def resolve_rfm_segment(score: Any) -> str | None:
        return score.rfm_segment or None

    @staticmethod
    def resolve_rfm_score(score: Any) -> str | None:
        return score.rfm_score or None

    @staticmethod
    def resolve_lifecycle_stage(score: Any) -> str | None:
        return score.lifecycle_stage or None


class ComplaintOut(Schema):
    complaint_id: str = Field(alias="external_id")
    opened_at: datetime
    category: str | None
    severity: int | None
    resolved_at: datetime | None
    description: str

    @staticmethod
    def resolve_category(complaint: Any) -> str | None:
        return complaint.category or None


class SurveyAnswerOut(Schema):
    survey: str
    answered_at: datetime
    score: int
    comment: str


class EventOut(Schema):
    kind: str
    name: str
    properties: dict[str, Any]
    occurred_at: datetime


class OrdersPageOut(Schema):
    """Where ``orders`` sits among all of the customer's orders (25 a page, newest first)."""

    page: int
    page_size: int
    total: int = Field(description="the customer's orders, over all pages")
    pages: int
    next_page: int | None
    previous_page: int | None


class Customer360Out(Schema):
    """Everything known of one customer; lists are newest first. ``orders`` is one page
    (``?orders_page=N``, 25 a page); ``orders_page`` says which, and how many there are."""

    customer_id: str = Field(alias="external_id", description="the shop's own customer id")
    profile: ProfileOut
    identities: list[IdentityOut]
    consent: ConsentByChannel
    orders: list[OrderOut] = Field(description="the page orders_page of the orders")
    orders_page: OrdersPageOut
    subscriptions: list[SubscriptionOut]
    scores: ScoresOut | None = Field(description="null until the customer is first scored")
    stage: str | None = Field(description="the lifecycle stage from the latest scores")
    complaints: list[ComplaintOut]
    survey_answers: list[SurveyAnswerOut]
    recent_events: list[EventOut] = Field(description="the 20 newest behavioural events")

    @staticmethod
    def resolve_profile(customer: Customer) -> Customer:
        return customer

    @staticmethod
    def resolve_identities(customer: Customer) -> list:
        return list(customer.identities.all())

    @staticmethod
    def resolve_consent(customer: Customer) -> dict[str, Any]:
        given = {consent.channel: consent for consent in customer.consents.all()}
        return {channel: given.get(channel) for channel in ConsentChannel.values}

    @staticmethod
    def resolve_orders(customer: Customer) -> list:
        return list(customer.order_page.items)

    @staticmethod
    def resolve_orders_page(customer: Customer) -> Any:
        return customer.order_page

    @staticmethod
    def resolve_subscriptions(customer: Customer) -> list:
        return list(customer.subscriptions.all())

    @staticmethod
    def resolve_scores(customer: Customer) -> Any:
        return score_of(customer)

    @staticmethod
    def resolve_stage(customer: Customer) -> str | None:
        score = score_of(customer)
        return (score.lifecycle_stage or None) if score else None

    @staticmethod
    def resolve_complaints(customer: Customer) -> list:
        return list(customer.complaints.all())

    @staticmethod
    def resolve_survey_answers(customer: Customer) -> list:
        return list(customer.survey_answers.all())


class CustomerSummaryOut(_BlankTextAsNull):
    """One search hit: who, and the scores a list shows."""

    customer_id: str = Field(alias="external_id")
    email: str | None
    name: str | None
    acquisition_channel: str | None
    segment: str | None
    signed_up_at: datetime | None
    lifecycle_stage: str | None
    churn_risk: ChurnRisk | None
    rfm_segment: str | None
    clv_12m: float | None
    p_alive: float | None

    @staticmethod
    def resolve_lifecycle_stage(customer: Customer) -> str | None:
        score = score_of(customer)
        return (score.lifecycle_stage or None) if score else None

    @staticmethod
    def resolve_churn_risk(customer: Customer) -> str | None:
        score = score_of(customer)
        return score.churn_risk if score else None

    @staticmethod
    def resolve_rfm_segment(customer: Customer) -> str | None:
        score = score_of(customer)
        return (score.rfm_segment or None) if score else None

    @staticmethod
    def resolve_clv_12m(customer: Customer) -> float | None:
        score = score_of(customer)
        return score.clv_12m if score else None

    @staticmethod
    def resolve_p_alive(customer: Customer) -> float | None:
        score = score_of(customer)
        return score.p_alive if score else None


class CustomerPageOut(Schema):
    items: list[CustomerSummaryOut]
    total: int = Field(description="customers matching, over all pages")
    page: int
    page_size: int
    pages: int
    next_page: int | None
    previous_page: int | None


class CustomerSearch(Schema):
    """The query string of ``GET /customers``; no text may hold a NUL byte (none is stored)."""

    q: str = Field("", max_length=200, pattern=NO_NUL,
                   description="part of the id, email or name (any case)")  # fmt: skip
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    lifecycle_stage: str | None = Field(None, pattern=NO_NUL)
    churn_risk: ChurnRisk | None = None
    rfm_segment: str | None = Field(None, pattern=NO_NUL)
    acquisition_channel: str | None = Field(None, pattern=NO_NUL)
    segment: str | None = Field(None, pattern=NO_NUL, description="the shop's own segment")

    def filters(self) -> dict[str, str]:
        names = ("lifecycle_stage", "churn_risk", "rfm_segment", "acquisition_channel", "segment")
        return {name: getattr(self, name) for name in names if getattr(self, name)}
