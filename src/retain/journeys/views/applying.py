"""Applying a journey document from the browser: the same check and store as ``retain
journeys apply`` and the API (:func:`retain.journeys.services.apply_document`), each problem
shown at its line, the text kept to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from retain.console.frame import page
from retain.errors import Conflict, DataError, NotFound
from retain.journeys.documents import DocumentProblem
from retain.journeys.queries import get_version
from retain.journeys.services import CREATED, UNCHANGED, ApplyOutcome, apply_document
from retain.journeys.views.common import forbidden, may_change, well_formed

#: The name problems give the document (``console:12: steps[1].wait: ...``), and the
#: ``source`` its version records.
SOURCE = "console"
_PROBLEM = re.compile(r"^(?P<source>.*?):(?P<line>\d+): (?P<rest>.*)$", re.DOTALL)
_PATH = re.compile(r"^[A-Za-z_][\w.\[\]-]*$")


@dataclass(frozen=True)
class Problem:
    """One problem of a document: its line (``None`` if it has none), the path of the part
    at fault (``steps[1].wait``; blank for the document as a whole) and why."""

    line: int | None
    path: str
    reason: str


def read_problem(text: str) -> Problem:
    """A ``file:line: path: reason`` problem, as the document check writes it, in parts."""
    found = _PROBLEM.match(text)
    if found is None:
        return Problem(None, "", text)
    rest = found["rest"]
    path, separator, reason = rest.partition(": ")
    if separator and _PATH.match(path):
        return Problem(int(found["line"]), path, reason)
    return Problem(int(found["line"]), "", rest)


@page()
def apply_page(request: HttpRequest) -> HttpResponse:
    """GET: the form (``?from=<key>``: filled with that journey's current document, to edit);
    POST: check and apply, then the journey's page; or the form again with every problem."""
    if not may_change(request):
        return forbidden(request)
    if request.method != "POST":
        return render(request, "journeys/apply.html", {"text": _starting_text(request)})
    try:
        text = request.POST.get("document", "")
    except RequestDataTooBig:
        return _refused(request, "", [Problem(None, "", _(
            "The document is larger than the server takes in one request; split it into "
            "several journeys."))], status=413)  # fmt: skip
    if not text.strip():
        return _refused(request, text, [Problem(None, "", _(
            "The document is empty: paste or write a journey in YAML (or JSON)."))])  # fmt: skip
    user = request.user.get_username()
    try:
        with transaction.atomic():
            outcome = apply_document(text, source=SOURCE, applied_by=f"user {user}")
    except DocumentProblem as error:
        found = error.details.get("problems") or [error.message]
        return _refused(request, text, [read_problem(problem) for problem in found])
    except Conflict:
        return _refused(request, text, [Problem(None, "", _(
            "Someone applied this journey at the same moment: apply it again."))],
            status=409)  # fmt: skip
    except DataError as error:
        return _refused(request, text, [read_problem(error.message)])
    messages.success(request, _applied(outcome))
    return redirect("journeys:detail", key=outcome.key)


def _starting_text(request: HttpRequest) -> str:
    key = request.GET.get("from", "")
    if not key or not well_formed(key):
        return ""
    try:
        return get_version(key).source_text
    except NotFound:
        return ""


def _refused(
    request: HttpRequest, text: str, problems: list[Problem], *, status: int = 400
) -> HttpResponse:
    return render(request, "journeys/apply.html",
                  {"text": text, "problems": problems}, status=status)  # fmt: skip


def _applied(outcome: ApplyOutcome) -> str:
    if outcome.outcome == CREATED:
        return _("Journey “%(key)s” created: version 1 is applied.") % {"key": outcome.key}
    if outcome.outcome == UNCHANGED:
        return _("Nothing changed: the document is the same journey as version %(version)s.") % {
            "version": outcome.version
        }
    return _(
        "Version %(version)s applied: customers who enter from now on follow it; those "
        "already in stay on the version they entered."
    ) % {"version": outcome.version}
