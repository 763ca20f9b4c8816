"""What a customer would get from a journey: each email step rendered for them, as the
runner would render it (their language, time zone, profile and scores; their latest order
when the journey is about orders). Nothing is stored or sent."""

from __future__ import annotations

from dataclasses import dataclass

from retain.customers.queries import contacts, customer_id_of, latest_order
from retain.journeys.acting import render_for
from retain.journeys.documents import EmailStep
from retain.journeys.queries import get_version
from retain.messaging.rendering import RenderedMessage


@dataclass(frozen=True)
class Preview:
    step_id: str
    to: str
    topic: str | None
    transactional: bool
    message: RenderedMessage


def preview_journey(key: str, customer: str, *, version: int | None = None) -> list[Preview]:
    """Every email of the journey ``key`` (its current version, or ``version``) rendered for
    the customer with the shop's id ``customer``. NotFound for an unknown journey, version
    or customer; a template that cannot render for this customer raises its problem."""
    document = get_version(key, version).document()
    customer_id = customer_id_of(customer)
    contact = contacts([customer_id])[customer_id]
    order = latest_order(customer_id)
    entry = (
        {"name": "Order Completed", "properties": order,
         "occurred_at": order["ordered_at"].isoformat()}
        if order is not None else {"name": "preview", "properties": {}}
    )  # fmt: skip
    previews = []
    for step in document.steps:
        if isinstance(step.body, EmailStep):
            rendered = render_for(
                contact, step.body.contents(), entry=entry, journey_key=document.key,
                journey_name=document.name, marketing=not document.transactional,
            )  # fmt: skip
            previews.append(
                Preview(step.id, contact.email, document.topic, document.transactional, rendered)
            )
    return previews
