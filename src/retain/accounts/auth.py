"""How a request proves who it is: ``Authorization: Bearer KEY`` or a signed-in user.

A key must carry the route's scope; a user's role grants scopes (:data:`ROLE_SCOPES`).
A signed-in user's request with an unsafe method must carry the CSRF token: a browser
attaches the session cookie by itself, so without the token any page could write as them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.utils import check_csrf

from retain.accounts.models import ApiKey, User
from retain.accounts.services import authenticate_api_key
from retain.errors import PermissionDenied

#: Methods that only read; every other one changes something and needs the CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_DETAIL = "CSRF check failed: send the token from GET /api/v1/auth/csrf as X-CSRFToken"


def require_csrf(request: HttpRequest) -> None:
    """Django's CSRF check for cookie-authenticated writes; :class:`PermissionDenied` (403)."""
    if check_csrf(request) is not None:
        raise PermissionDenied(CSRF_DETAIL, status=403)


def needs_csrf(request: HttpRequest) -> bool:
    """A write by a signed-in user without an API key: the session cookie is what proves it."""
    if request.method in SAFE_METHODS or request.headers.get("Authorization"):
        return False
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key or a user, with what they may do."""

    scopes: frozenset[str]
    key: ApiKey | None = None
    user: User | None = None


def caller_of(request: HttpRequest, *, scope: str) -> Caller:
    """The caller if allowed ``scope``; :class:`PermissionDenied` (401/403) otherwise.

    A signed-in user writing (an unsafe method) must also pass the CSRF check."""
    header = request.headers.get("Authorization", "")
    if header:
        kind, _, credential = header.partition(" ")
        if kind.lower() != "bearer" or not credential.strip():
            raise PermissionDenied("use 'Authorization: Bearer <API key>'", status=401)
        try:
            key = authenticate_api_key(credential.strip(), scope=scope)
        except PermissionDenied as error:
            error.details.setdefault("status", 403 if "scope" in error.details else 401)
            raise
        return Caller(scopes=frozenset(key.scopes), key=key)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if scope not in user.scopes:
            raise PermissionDenied(
                f"the {user.role} role lacks the {scope!r} scope", scope=scope, status=403
            )
        if needs_csrf(request):
            require_csrf(request)
        return Caller(scopes=user.scopes, user=user)
    raise PermissionDenied("sign in or send 'Authorization: Bearer <API key>'", status=401)
