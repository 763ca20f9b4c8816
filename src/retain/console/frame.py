"""What a domain needs from the console to add its pages: :class:`NavEntry` for the menu
(listed on the domain's ``AppConfig.navigation``) and :func:`page` for who may open a page.

The one module of the console that domains import; it imports nothing of theirs (the
console's own pages, which read every domain, live in :mod:`retain.console.views`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render, resolve_url
from django.urls import reverse

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class NavEntry:
    """One menu item: the page's URL name, its label (lazily translated), the roles that see
    it (``None``: every role; role names as in :class:`retain.accounts.models.Role`, not
    imported here because app configs load before models)."""

    url_name: str
    label: str
    roles: frozenset[str] | None = None
    order: int = 50


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str
    current: bool


def navigation_for(role: str, path: str) -> list[NavLink]:
    """The menu of a user with ``role`` on the page at ``path`` (the current item marked)."""
    entries = [
        entry
        for config in apps.get_app_configs()
        for entry in getattr(config, "navigation", ())
        if entry.roles is None or role in entry.roles
    ]
    links = []
    for entry in sorted(entries, key=lambda entry: entry.order):
        url = reverse(entry.url_name)
        current = path == url if url == "/" else path.startswith(url)
        links.append(NavLink(url=url, label=str(entry.label), current=current))
    return links


def page(*, roles: frozenset[str] | None = None) -> Callable[[View], View]:
    """A console page: signed-out visitors go to the sign-in page and come back; a role not
    in ``roles`` (``None``: every role) gets a 403 page that says so (and nothing of the
    page's data)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                back = QueryDict(mutable=True)
                back["next"] = request.get_full_path()
                login_url = resolve_url(settings.LOGIN_URL)
                return HttpResponseRedirect(f"{login_url}?{back.urlencode(safe='/')}")
            if not user.is_active or (roles is not None and user.role not in roles):
                return render(request, "console/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return guarded

    return decorate
