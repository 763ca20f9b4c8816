"""Middleware that guards every response and every API write, whatever the route.

:class:`TrustedProxyMiddleware` decides whether a request came over TLS: always with
``RETAIN_HTTPS=1``; else by ``X-Forwarded-Proto``, believed only from a proxy of
``RETAIN_TRUSTED_PROXIES`` (anyone else's is dropped). Django's ``SecurityMiddleware`` then
sends HSTS on such requests, and :class:`SecurityHeadersMiddleware` marks their cookies
``Secure`` and gives every response a Content-Security-Policy.

:class:`AdminLoginThrottleMiddleware` puts the admin's sign-in behind the login throttle the
API's sign-in checks itself (:mod:`retain.accounts.throttle`).

:class:`ApiCsrfMiddleware` makes the CSRF rule of :mod:`retain.accounts.auth` hold for each
route of the REST API, including one whose own code forgets to ask (Ninja's views are exempt
from Django's CSRF middleware, and a route's body is parsed before its code runs).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from ninja.utils import check_csrf

from retain.accounts.auth import CSRF_DETAIL, needs_csrf
from retain.accounts.throttle import (
    Throttled,
    client_address,
    from_trusted_proxy,
    login_throttle,
)
from retain.problems import problem

API_PREFIX = "/api/"
#: Only retain's own files: no inline script, no other origin, no framing. Images may be
#: ``data:`` URLs (Swagger UI's and the admin's icons are).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"


class TrustedProxyMiddleware:
    """``X-Forwarded-Proto`` as Django's ``SECURE_PROXY_SSL_HEADER`` reads it: ``https``
    with ``RETAIN_HTTPS=1``, the proxy's own from a trusted proxy, else none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.RETAIN_HTTPS:
            request.META[FORWARDED_PROTO] = "https"
        elif not from_trusted_proxy(request):
            request.META.pop(FORWARDED_PROTO, None)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """A Content-Security-Policy on every response; ``Secure`` cookies over TLS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.is_secure():
            for cookie in response.cookies.values():
                cookie["secure"] = True
        return response


class ApiCsrfMiddleware:
    """Refuse (403 problem+json) a signed-in user's write to the API without the CSRF token.

    A request with ``Authorization`` is left to the route: a browser never attaches that
    header by itself, so a key needs no token.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path.startswith(API_PREFIX)
            and needs_csrf(request)
            and check_csrf(request) is not None
        ):
            return problem(403, "permission_denied", CSRF_DETAIL)
        return self.get_response(request)


class AdminLoginThrottleMiddleware:
    """Refuse a sign-in to the admin (429 with ``Retry-After``) while the throttle is locked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == reverse("admin:login"):
            username = request.POST.get("username", "")
            try:
                login_throttle.check(username, client_address(request))
            except Throttled as error:
                page = (
                    "<!doctype html><title>Too many failed sign-ins</title>"
                    f"<h1>Too many failed sign-ins</h1><p>{escape(error.message)}.</p>"
                )
                response = HttpResponse(page, status=429)
                response["Retry-After"] = str(error.retry_after)
                return response
        return self.get_response(request)
