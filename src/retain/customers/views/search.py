"""The customers list: search, filters, paging."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from retain.console.frame import page
from retain.customers.queries import PROFILE_FILTERS, SCORE_FILTERS, score_of, search_customers
from retain.errors import RuleViolation

PAGE_SIZE = 50


@page()
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    filters = {name: request.GET.get(name, "") for name in SCORE_FILTERS + PROFILE_FILTERS}
    try:
        number = int(request.GET.get("page", "1"))
        decile = request.GET.get("value_decile", "")
        found = search_customers(
            query, page=number, page_size=PAGE_SIZE, filters=filters,
            min_value_decile=int(decile) if decile else None,
        )  # fmt: skip
    except (ValueError, RuleViolation) as error:
        message = getattr(error, "message", str(error))
        return render(request, "customers/list.html", {"error": message, "query": query},
                      status=400)  # fmt: skip
    rows = [(customer, score_of(customer)) for customer in found.items]
    return render(
        request,
        "customers/list.html",
        {"found": found, "rows": rows, "query": query, "filters": filters},
    )
