"""A journey's emails rendered for one customer, as the runner would render them now (their
language, time zone and latest order), sending and storing nothing.

Each email's HTML is shown in a sandboxed frame (``sandbox=""``: no script, no form, no
origin of its own) loaded from an address of its own, whose policy lets the email's inline
styles apply and loads nothing from elsewhere: under the console's policy, which a ``srcdoc``
frame inherits, the inlined styles of every email would be refused.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from retain.console.frame import page
from retain.customers.models import ID_LENGTH
from retain.errors import NotFound
from retain.journeys.previews import Preview, preview_journey
from retain.journeys.queries import get_journey
from retain.journeys.views.common import journey_not_found, well_formed
from retain.messaging.rendering import TemplateProblem

#: The policy of an email's frame: its own inline styles and embedded images, nothing
#: fetched, nothing run; framed only by the console itself.
FRAME_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _customer_id(request: HttpRequest) -> tuple[str, str | None]:
    """The customer id asked for, and what is wrong with it (``None``: nothing)."""
    given = request.GET.get("customer", "").strip()
    if "\x00" in given:
        return given.replace("\x00", "\\x00")[:80], _("A customer id holds no NUL character.")
    if len(given) > ID_LENGTH:
        why = _("A customer id has at most %(limit)s characters; this one has %(length)s.")
        return given[:80], why % {"limit": ID_LENGTH, "length": len(given)}
    return given, None


@page()
def preview_page(request: HttpRequest, key: str) -> HttpResponse:
    """The form asking for a customer id; with ``?customer=<id>``, every email of the journey
    rendered for them."""
    if not well_formed(key):
        return journey_not_found(request, key)
    try:
        journey = get_journey(key).journey
    except NotFound:
        return journey_not_found(request, key)
    customer, problem = _customer_id(request)
    context: dict[str, Any] = {"journey": journey, "customer": customer, "previews": None}
    status = 200
    if problem:
        context["error"], status = problem, 400
    elif customer:
        try:
            context["previews"] = preview_journey(key, customer)
        except NotFound:
            context["error"] = _("No customer has the id “%(id)s”.") % {"id": customer}
            status = 404
        except TemplateProblem as error:
            context["error"] = _("An email of this journey cannot be written for this customer: "
                                 "%(problem)s") % {"problem": error.message}  # fmt: skip
    return render(request, "journeys/preview.html", context, status=status)


@page()
@xframe_options_sameorigin
def preview_html(request: HttpRequest, key: str, step: str) -> HttpResponse:
    """The HTML of the email step ``step`` rendered for ``?customer=<id>``, for the preview's
    frame, under a policy of its own (:data:`FRAME_POLICY`)."""
    customer, problem = _customer_id(request)
    found: Preview | None = None
    if well_formed(key) and customer and not problem:
        try:
            found = next((p for p in preview_journey(key, customer) if p.step_id == step), None)
        except (NotFound, TemplateProblem):
            found = None
    if found is None or found.message.html is None:
        response = HttpResponse(_("No such email to show."), status=404,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
    else:
        response = HttpResponse(found.message.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = FRAME_POLICY
    response["Cache-Control"] = "no-store"
    return response
