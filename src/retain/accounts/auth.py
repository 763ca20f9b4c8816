"""How a request proves who it is: ``Authorization: Bearer KEY`` or a signed-in user.

A key must carry the route's scope; a user's role grants scopes (:data:`ROLE_SCOPES`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from retain.accounts.models import ApiKey, User
from retain.accounts.services import authenticate_api_key
from retain.errors import PermissionDenied


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key or a user, with what they may do."""

    scopes: frozenset[str]
    key: ApiKey | None = None
    user: User | None = None


def caller_of(request: HttpRequest, *, scope: str) -> Caller:
    """The caller if allowed ``scope``; :class:`PermissionDenied` (401/403) otherwise."""
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
        return Caller(scopes=user.scopes, user=user)
    raise PermissionDenied("sign in or send 'Authorization: Bearer <API key>'", status=401)
