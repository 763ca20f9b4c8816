"""One customer's journeys and messages: every journey they entered (when, how it went) and
every message a journey sent them, held out, suppressed or keeps waiting, newest first.

The customer's 360 loads it with htmx from this address (``customers`` may not import
``journeys``: the 360 names the address only); opened without htmx it is a page of its own.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from retain.console.frame import page
from retain.customers.models import ID_LENGTH
from retain.customers.queries import contacts, customer_id_of
from retain.errors import NotFound
from retain.journeys.queries import customer_journeys

#: The newest journeys entered, and messages, shown of each.
SHOWN = 50


@page()
def customer_timeline(request: HttpRequest) -> HttpResponse:
    """``?customer=<the shop's id>``: the fragment for htmx, else a page."""
    external_id = request.GET.get("customer", "")
    partial = request.headers.get("HX-Request") == "true"
    try:
        if not external_id or "\x00" in external_id or len(external_id) > ID_LENGTH:
            raise NotFound("no such customer")
        customer_id = customer_id_of(external_id)
    except NotFound:
        return render(request, "journeys/timeline_not_found.html",
                      {"external_id": external_id.replace("\x00", "\\x00")[:ID_LENGTH],
                       "partial": partial}, status=404)  # fmt: skip
    context = {
        "external_id": external_id,
        "history": customer_journeys(customer_id, limit=SHOWN),
        "now": timezone.now(),
    }
    if partial:
        return render(request, "journeys/timeline_items.html", context)
    context["contact"] = contacts([customer_id])[customer_id]
    return render(request, "journeys/timeline.html", context)
