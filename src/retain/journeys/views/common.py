"""What the journeys' pages share: who may change journeys, and the pages that say no."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from retain.journeys.documents import KEY_PATTERN

#: The scope that changes journeys (admins and analysts hold it; every role may read).
WRITE_SCOPE = "journeys"


def may_change(request: HttpRequest) -> bool:
    """Whether the signed-in user's role grants the ``journeys`` scope."""
    return WRITE_SCOPE in getattr(request.user, "scopes", frozenset())


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "console/forbidden.html", status=403)


def journey_not_found(request: HttpRequest, key: str) -> HttpResponse:
    shown = key.replace("\x00", "\\x00")[:100]
    return render(request, "journeys/not_found.html", {"key": shown}, status=404)


def well_formed(key: str) -> bool:
    """Whether ``key`` could be a journey's key (one that cannot is not looked up: a NUL byte
    would fail on PostgreSQL)."""
    return re.fullmatch(KEY_PATTERN, key) is not None
