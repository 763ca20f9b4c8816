"""One customer's 360: everything known of them on one page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from retain.console.frame import page
from retain.customers.queries import get_customer_360, score_of
from retain.errors import NotFound


@page()
def customer_detail(request: HttpRequest, external_id: str) -> HttpResponse:
    try:
        customer = get_customer_360(external_id)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(
        request, "customers/detail.html", {"customer": customer, "score": score_of(customer)}
    )
