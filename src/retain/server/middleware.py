"""Middleware of the retain project."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connections
from django.http import HttpRequest, HttpResponse


class ReturnConnectionsMiddleware:
    """Hand the request's database connections back at its end, in the request's own thread.

    Under ASGI Django runs each request's sync code in a thread of that request, while its
    own end-of-request cleanup runs elsewhere: left alone, every request's connection stays
    open until PostgreSQL refuses more. Closing here returns it to the connection pool.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            for connection in connections.all(initialized_only=True):
                if not connection.in_atomic_block:
                    connection.close()
