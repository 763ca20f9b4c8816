"""Who may open a page: every console page needs a signed-in user, some a role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

View = Callable[..., HttpResponse]


def page(*, roles: frozenset[str] | None = None) -> Callable[[View], View]:
    """A console page: signed-out visitors go to the sign-in page and come back; a role not
    in ``roles`` (``None``: every role) gets a 403 page that says so (and nothing of the
    page's data)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_active or (roles is not None and user.role not in roles):
                return render(request, "console/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return guarded

    return decorate
