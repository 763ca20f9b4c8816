"""What every console page's layout needs: the menu for the user's role, the languages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from retain.console.frame import navigation_for


def frame(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "navigation": navigation_for(user.role, request.path) if signed_in else [],
        "languages": settings.LANGUAGES,
    }
