"""The console's navigation, gathered from the installed apps.

A domain adds its pages to the menu without editing the frame: its ``AppConfig`` lists
:class:`NavEntry` items in ``navigation``; the menu shows those the user's role may open, by
``order``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.urls import reverse


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
