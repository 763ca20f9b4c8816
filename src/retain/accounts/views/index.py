"""``/settings/``: the menu's entry for admins, which opens on the API keys."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from retain.console.frame import page


@page(roles=frozenset({"admin"}))
def settings_home(request: HttpRequest) -> HttpResponse:
    return redirect("accounts:keys")
