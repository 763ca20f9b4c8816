"""Who may call the REST API, and signing in and out (``/api/v1/auth``).

Two ways in, both checked by :func:`retain.accounts.auth.caller_of`:

* ``Authorization: Bearer <API key>``, for programs. The key must hold the route's scope.
  No CSRF check: a browser never attaches this header by itself.
* a Django session cookie from ``POST /auth/login``, for people; the user's role grants the
  scopes (``ROLE_SCOPES``). A session-authenticated request with an unsafe method (POST, PUT,
  PATCH, DELETE), login and logout included, must send Django's CSRF token in the
  ``X-CSRFToken`` header (``GET /auth/csrf`` returns it and sets the ``csrftoken`` cookie).

Failures are ``PermissionDenied`` (problem+json with code ``permission_denied``): 401 for no
or bad credentials, 403 for a missing scope or a failed CSRF check.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth as django_auth
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from ninja import Router, Schema
from ninja.security import APIKeyCookie, HttpBearer

from retain.accounts.auth import Caller, caller_of, require_csrf
from retain.accounts.throttle import Throttled, client_address, login_throttle
from retain.errors import PermissionDenied
from retain.problems import problem_from


def _caller_with_any(request: HttpRequest, scopes: tuple[str, ...]) -> Caller:
    """The caller if allowed one of ``scopes`` (the first one's refusal otherwise)."""
    refused = None
    for scope in scopes:
        try:
            return caller_of(request, scope=scope)
        except PermissionDenied as error:
            if "scope" not in error.details:  # not a missing scope: bad key, no CSRF token
                raise
            refused = refused or error
    assert refused is not None
    raise refused


class BearerKey(HttpBearer):
    """An API key holding one of ``scopes``; passes (returns ``None``) when no key is sent."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes
        super().__init__()

    def __call__(self, request: HttpRequest) -> Caller | None:
        if not request.headers.get("Authorization"):
            return None
        return _caller_with_any(request, self.scopes)

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        return _caller_with_any(request, self.scopes)


class SessionUser(APIKeyCookie):
    """A signed-in user whose role grants one of ``scopes``; unsafe methods need the CSRF
    token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Caller:
        return _caller_with_any(request, self.scopes)  # checks the CSRF token of a write

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller:
        return _caller_with_any(request, self.scopes)


def require(scope: str, *others: str) -> list[Any]:
    """Ninja ``auth=`` for a route that needs ``scope`` (or one of ``others``): an API key,
    else a session. ``request.auth`` is then the :class:`~retain.accounts.auth.Caller`."""
    return [BearerKey(scope, *others), SessionUser(scope, *others)]


class LoginIn(Schema):
    username: str
    password: str


class UserOut(Schema):
    username: str
    role: str
    scopes: list[str]

    @staticmethod
    def resolve_scopes(user: Any) -> list[str]:
        return sorted(user.scopes)


class CsrfOut(Schema):
    csrf_token: str


router = Router(tags=["auth"])


@router.get("/csrf", response=CsrfOut, auth=None)
def csrf(request: HttpRequest) -> dict[str, str]:
    """The CSRF token for session-authenticated writes (also set as the ``csrftoken`` cookie)."""
    return {"csrf_token": get_token(request)}


@router.post("/login", response=UserOut, auth=None)
def login(request: HttpRequest, credentials: LoginIn) -> Any:
    """Sign in with a username and password; the session cookie authenticates what follows.

    After too many wrong passwords for the account or from the address, refused with 429
    and ``Retry-After`` for a while, even with the right password (see
    :mod:`retain.accounts.throttle`)."""
    require_csrf(request)
    try:
        login_throttle.check(credentials.username, client_address(request))
    except Throttled as error:
        response = problem_from(error)
        response["Retry-After"] = str(error.retry_after)
        return response
    user = django_auth.authenticate(
        request, username=credentials.username, password=credentials.password
    )
    if user is None:
        raise PermissionDenied("wrong username or password", status=401)
    django_auth.login(request, user)
    return user


@router.post("/logout", response={204: None}, auth=None)
def logout(request: HttpRequest) -> HttpResponse:
    """End the session (a no-op when not signed in)."""
    if request.user.is_authenticated:
        require_csrf(request)
    django_auth.logout(request)
    return HttpResponse(status=204)


@router.get("/me", response=UserOut, auth=None)
def me(request: HttpRequest) -> Any:
    """The signed-in user, their role and the scopes it grants (sessions only)."""
    if not request.user.is_authenticated:
        raise PermissionDenied("not signed in", status=401)
    return request.user
