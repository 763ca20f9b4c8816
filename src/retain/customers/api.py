"""REST routes for customers (``/api/v1/customers``): thin, over queries and services.

The server mounts this router behind the ``read`` scope (an API key holding it, or a
signed-in user: every role reads customers), so this app needs nothing from ``accounts``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from retain.customers.profile import MAX_PAGE, ORDERS_PAGE_SIZE, page_number
from retain.customers.queries import get_customer_360, search_customers
from retain.customers.schemas import Customer360Out, CustomerPageOut, CustomerSearch

router = Router(tags=["customers"])


@router.get("", response=CustomerPageOut)
def list_customers(request: HttpRequest, params: Query[CustomerSearch]) -> Any:
    """Search customers by id, email or name (any case, any part); paged, ordered by id."""
    return search_customers(
        params.q, page=params.page, page_size=params.page_size, filters=params.filters()
    )


@router.get("/{path:customer_id}", response=Customer360Out)
def get_customer(
    request: HttpRequest,
    customer_id: str,
    orders_page: str | None = Query(
        None,
        description=(
            f"which page of the orders ({ORDERS_PAGE_SIZE} a page, newest first), from 1 to "
            f"{MAX_PAGE:,}; default 1. A page past the last has no orders (and the totals); "
            "anything else is a 400 problem naming orders_page."
        ),
        example="2",
    ),
) -> Any:
    """Everything known of one customer, by the shop's own customer id (any text: slashes
    and any script included), with one page of their orders."""
    page = page_number(orders_page, name="orders_page")
    return get_customer_360(customer_id, orders_page=page)
