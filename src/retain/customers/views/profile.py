"""One customer's 360: everything known of them on one page, orders and events a page at a
time (htmx swaps just the list when it asks with ``HX-Target``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from retain.console.frame import page
from retain.customers import profile
from retain.customers.alive_history import p_alive_history
from retain.customers.charts import alive_chart
from retain.customers.models import ConsentChannel, Customer
from retain.customers.queries import get_customer_360, score_of
from retain.customers.readings import score_readings, unscored_reading
from retain.errors import NotFound, RuleViolation

CHANNEL_NAMES = {
    ConsentChannel.EMAIL: _("Email"),
    ConsentChannel.SMS: _("SMS"),
    ConsentChannel.PUSH: _("Push notifications"),
    ConsentChannel.PHONE: _("Phone"),
}


@page()
def customer_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    try:
        orders_page = profile.page_number(request.GET.get("orders_page"), name="orders_page")
        events_page = profile.page_number(request.GET.get("events_page"), name="events_page")
    except RuleViolation as error:
        return render(request, "customers/detail_refused.html", {"error": error.message},
                      status=400)  # fmt: skip
    target = request.headers.get("HX-Target", "") if request.headers.get("HX-Request") else ""
    try:
        if target == "orders" or target.startswith("events-more"):  # htmx asks for one list
            customer = profile.find_customer(external_id)
        else:
            customer = get_customer_360(external_id, orders_page=orders_page, recent_events=False)
    except NotFound:
        return render(request, "customers/detail_not_found.html", {"external_id": external_id},
                      status=404)  # fmt: skip
    if target == "orders":
        customer.order_page = profile.orders_page(customer, orders_page)
        return render(request, "customers/detail_orders.html", {"customer": customer})
    events = profile.events_page(customer, events_page)
    if target.startswith("events-more"):
        return render(request, "customers/detail_events.html",
                      {"customer": customer, "events": events})  # fmt: skip
    return render(request, "customers/detail.html", _context(customer, events))


def _context(customer: Customer, events: profile.Page) -> dict[str, Any]:
    facts = profile.order_facts(customer)
    run = profile.scoring_run()
    score = score_of(customer)
    history = p_alive_history(facts.days, run) if score is not None else None
    given = {consent.channel: consent for consent in customer.consents.all()}
    return {
        "customer": customer,
        "score": score,
        "facts": facts,
        "readings": score_readings(score, facts) if score is not None else [],
        "unscored": None
        if score
        else unscored_reading(facts, profile.set_aside_reason(customer, run)),
        "history": history,
        "alive_chart": alive_chart(history) if history else None,
        "consents": [(CHANNEL_NAMES[channel], given.get(channel)) for channel in ConsentChannel],
        "changes": profile.changes(customer),
        "events": events,
    }
