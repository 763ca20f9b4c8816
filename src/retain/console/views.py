"""The frame's own pages: sign-in and sign-out, the language switch, and the home page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from retain.accounts.throttle import Throttled, client_address, login_throttle
from retain.console.charts import bar_chart
from retain.console.frame import page
from retain.customers.queries import store_overview
from retain.ingest.queries import (
    count_failed_messages,
    count_waiting_messages,
    last_import,
    pending_lag,
)
from retain.ingest.services import IMPORTERS
from retain.worker.queries import queue_health


@page()
def home(request: HttpRequest) -> HttpResponse:
    """The store at a glance; every figure links to the customers behind it."""
    overview = store_overview()
    charts = {}
    if overview.stages:
        charts["stages"] = bar_chart(
            [group.name for group in overview.stages],
            [group.customers for group in overview.stages],
            label_title=_("Lifecycle stage"), value_title=_("Customers"),
        )  # fmt: skip
    pending, lag = pending_lag()
    tracking = {
        "failed": count_failed_messages(), "waiting": count_waiting_messages(),
        "pending": pending, "lag_seconds": lag,
    }  # fmt: skip
    return render(
        request,
        "console/home.html",
        {
            "overview": overview,
            "queue": queue_health(),
            "tracking": tracking,
            "charts": charts,
            "last_import": last_import(),
            "sees_imports": request.user.role in IMPORTERS,
        },
    )


def sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in form; wrong passwords count towards the throttle both other doors share."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method != "POST":
        return redirect(next_url)
    context = {"next": next_url, "username": "", "error": ""}
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
        context["username"] = username
        try:
            login_throttle.check(username, client_address(request))
        except Throttled as error:
            context["error"] = _(
                "Too many failed sign-ins for this account or address. Try again in %(seconds)s "
                "seconds."
            ) % {"seconds": error.retry_after}
            response = render(request, "console/sign_in.html", context, status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        user = authenticate(request, username=username, password=request.POST.get("password", ""))
        if user is not None and user.is_active:
            login_throttle.succeeded(username)
            login(request, user)
            return redirect(next_url)
        context["error"] = _("The username or the password is wrong.")
        status = 400
    return render(request, "console/sign_in.html", context, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("console:sign_in")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the console's language: saved on the account when signed in, and in a cookie
    (so the sign-in page speaks it too)."""
    language = request.POST.get("language", "")
    response = HttpResponseRedirect(_safe_next(request, request.POST.get("next")))
    if language in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
            samesite="Lax", secure=request.is_secure(), httponly=True,
        )  # fmt: skip
        if request.user.is_authenticated:
            request.user.language = language
            request.user.save(update_fields=["language"])
    return response


def _safe_next(request: HttpRequest, wanted: str | None) -> str:
    """Where to go after signing in or switching language: only a page of this site."""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("console:home")
