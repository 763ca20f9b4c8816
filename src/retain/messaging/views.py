"""The public pages a recipient reaches from an email: unsubscribe and preferences, the click
redirect and the open pixel. No sign-in: the signed token in the address is the recipient's
proof, so these pages need no CSRF token either (a forged request could only do what the
token already allows whoever holds it).
"""

from __future__ import annotations

import base64
import logging

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from retain.messaging.queries import preferences
from retain.messaging.services import record_click, record_open, resubscribe, unsubscribe
from retain.messaging.tokens import (
    BadToken,
    UnsubscribeLink,
    read_click_token,
    read_open_token,
    read_unsubscribe_token,
)

logger = logging.getLogger(__name__)
#: A transparent 1x1 GIF.
_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_WEB_SCHEMES = ("http://", "https://")


def _bad_link(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/bad_link.html", status=400)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the choices (this topic, all marketing, each topic). POST with
    ``List-Unsubscribe=One-Click`` (RFC 8058, sent by the mail provider): unsubscribe at
    once and answer 200. Any other POST: the choice made on the page."""
    try:
        link = read_unsubscribe_token(token)
    except BadToken:
        return _bad_link(request)
    done = ""
    if request.method == "POST":
        if request.POST.get("List-Unsubscribe") == "One-Click":
            with transaction.atomic():
                unsubscribe(
                    link.address, link.topic or None, source="one-click unsubscribe",
                    message_id=link.message_id,
                )  # fmt: skip
            return render(request, "messaging/one_click_done.html", {"link": link})
        try:
            done = _choose(request, link)
        except ValueError:
            return render(request, "messaging/bad_link.html", status=400)
    state = preferences(link.address)
    # The link's own topic, while the address still receives it (a message without a topic
    # offers all marketing only).
    topic = link.topic if any(c.topic == link.topic and c.subscribed for c in state.topics) else ""
    return render(
        request, "messaging/unsubscribe.html",
        {"link": link, "topic": topic, "preferences": state, "done": done},
    )  # fmt: skip


def _choose(request: HttpRequest, link: UnsubscribeLink) -> str:
    """Apply the page's form; what to confirm. ``ValueError`` for a form we did not send."""
    action = request.POST.get("action")
    source = "preferences page"
    with transaction.atomic():
        if action == "topic" and link.topic:
            unsubscribe(link.address, link.topic, source=source, message_id=link.message_id)
            return _("You will no longer receive emails about %(topic)s.") % {"topic": link.topic}
        if action == "all":
            unsubscribe(link.address, None, source=source, message_id=link.message_id)
            return _("You will no longer receive marketing emails from us.")
        if action == "resubscribe":
            resubscribe(link.address)
            return _("You are subscribed again.")
        if action == "topics":
            wanted = set(request.POST.getlist("topic"))
            for choice in preferences(link.address).topics:
                if choice.topic in wanted:
                    resubscribe(link.address, choice.topic)
                else:
                    unsubscribe(
                        link.address, choice.topic, source=source, message_id=link.message_id
                    )
            return _("Your preferences are saved.")
    raise ValueError(f"unknown action {action!r}")


@never_cache
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    """Record the click and go on to the URL signed in the token (never another: the token
    is the only source of the address)."""
    try:
        message_id, url = read_click_token(token)
    except BadToken:
        return _bad_link(request)
    if not url.lower().startswith(_WEB_SCHEMES):
        return _bad_link(request)
    if request.method == "GET":
        try:
            with transaction.atomic():
                record_click(message_id, url)
        except DatabaseError:  # a busy store loses a click, never the recipient's way
            logger.warning("a click on message %s was not recorded", message_id, exc_info=True)
    return HttpResponseRedirect(url)


@never_cache
@require_http_methods(["GET"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        message_id = read_open_token(token)
    except BadToken:
        return HttpResponse(status=400)
    try:
        with transaction.atomic():
            record_open(message_id)
    except DatabaseError:
        logger.warning("an open of message %s was not recorded", message_id, exc_info=True)
    return HttpResponse(_PIXEL, content_type="image/gif")
