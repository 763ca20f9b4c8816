"""``/imports/``: upload a file of any kind ``retain import`` takes, "Check" it (every problem,
in the file's terms), then "Import" that same saved file; the history of imports below.

For admins and analysts (agents get the console's 403). The check and the import run in a
process of their own (:mod:`retain.ingest.upload_imports`), one upload at a time per
workspace; the import is recorded like every other (:mod:`retain.ingest.import_history`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from retain.console.frame import page
from retain.errors import NotFound, PermissionDenied, plain
from retain.ingest.forms import ImportForm
from retain.ingest.import_answers import CHECKED, FAILED, Answer
from retain.ingest.import_history import KEPT_PROBLEMS, Who, problems_of
from retain.ingest.models import ImportKind, ImportOutcome, ImportRun, ImportVia
from retain.ingest.queries import get_import_run, import_history
from retain.ingest.saved_uploads import (
    PendingImport,
    discard,
    pending_import,
    save_upload,
    upload_token,
)
from retain.ingest.services import IMPORTERS
from retain.ingest.upload_imports import check_upload, import_upload
from retain.ingest.upload_turns import ImportsBusy

HISTORY_PAGE_SIZE = 20
#: How the console's refusal of moved orders names the option that allows them.
MOVES_AS = 'the box "Let orders and complaints move to the customer id the file gives" ticked'


@dataclass(frozen=True)
class ProblemRow:
    """One problem as the page shows it: the column, the rule, the rows, and the example's
    place in the file (``line 5``) apart from its values."""

    column: str
    rule: str
    bad_rows: int | None
    place: str = ""
    values: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """What a check found: the rows (none counted for a file refused from its header) and
    every problem, or a token to import the same file."""

    file_name: str
    kind: str
    rows: int | None = None
    problems: list[ProblemRow] = field(default_factory=list)
    problem_count: int = 0
    detail: str = ""
    token: str = ""
    #: The columns of the file's header, when a column it needs is missing from it.
    header: list[str] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(ImportKind(self.kind).label)


def _place(example: dict[str, Any]) -> str:
    labels = {
        "line": _("line %(place)s"), "lines": _("lines %(place)s"),
        "row": _("row %(place)s"), "rows": _("rows %(place)s"),
    }  # fmt: skip
    return ", ".join(text % {"place": example[key]} for key, text in labels.items()
                     if key in example)  # fmt: skip


def problem_rows(problems: list[dict[str, Any]]) -> list[ProblemRow]:
    """Problems (``{column, rule, bad_rows, example}``) as rows of the page."""
    rows = []
    for problem in problems:
        example = problem.get("example") or {}
        values = [(name, plain(value)) for name, value in example.items()
                  if name not in ("line", "lines", "row", "rows")]  # fmt: skip
        rows.append(ProblemRow(
            column=problem.get("column") or "", rule=problem.get("rule") or "",
            bad_rows=problem.get("bad_rows"), place=_place(example), values=values,
        ))  # fmt: skip
    return rows


def _history_page(request: HttpRequest) -> int:
    text = request.GET.get("page", "1")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 100_000 else 1


def _render(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    history = import_history(page=_history_page(request), page_size=HISTORY_PAGE_SIZE)
    context = {"form": ImportForm(), "history": history, **context}
    response = render(request, "ingest/imports.html", context, status=status)
    add_never_cache_headers(response)  # a report holds the file's values
    return response


@page(roles=IMPORTERS)
@require_GET
def import_page(request: HttpRequest) -> HttpResponse:
    """The form and the history; ``?run=<id>`` shows that import's outcome on top. For htmx
    (the history's pages) the history alone."""
    if request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    ):
        history = import_history(page=_history_page(request), page_size=HISTORY_PAGE_SIZE)
        return render(request, "ingest/history.html", {"history": history})
    run = None
    if (wanted := request.GET.get("run", "")).isascii() and wanted.isdigit():
        try:
            run = get_import_run(int(wanted))
        except NotFound:
            run = None
    return _render(request, {"run": run, "run_problems": _run_problems(run)})


def _run_problems(run: ImportRun | None) -> list[ProblemRow]:
    if run is None or run.outcome != ImportOutcome.REFUSED:
        return []
    return problem_rows(run.problems)


@page(roles=IMPORTERS)
@require_POST
def import_check(request: HttpRequest) -> HttpResponse:
    """Save the uploaded file and check it whole: every problem, or the button to import it."""
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, {"form": form}, status=400)
    data = form.cleaned_data
    file = data["file"]
    upload = save_upload(file.chunks(), name=file.name or "upload")
    try:
        answer = check_upload(upload, data["kind"], options=data["options"])
    except ImportsBusy as busy:
        discard(upload)
        return _render(request, {"form": form, "busy": busy.retry_after}, status=503)
    if answer.outcome != CHECKED:
        discard(upload)
        report = _refused(upload.name, data["kind"], answer)
        return _render(request, {"form": form, "report": report})
    pending = PendingImport(upload=upload, kind=data["kind"], options=data["options"],
                            allow_moves=data["allow_moves"], user_id=request.user.pk)  # fmt: skip
    report = Report(file_name=upload.name, kind=data["kind"], rows=answer.rows,
                    token=upload_token(pending))  # fmt: skip
    return _render(request, {"form": form, "report": report})


def _refused(file_name: str, kind: str, answer: Answer) -> Report:
    body = answer.problem or {}
    problems = problems_of(body.get("detail", ""), body)
    rows = body.get("rows") if isinstance(body.get("rows"), int) else None
    failed = answer.outcome == FAILED
    header = [str(name) for name in body.get("header") or []]
    return Report(
        file_name=file_name, kind=kind, rows=rows, problems=problem_rows(problems[:KEPT_PROBLEMS]),
        problem_count=len(problems), detail=body.get("detail", "") if failed else "",
        header=header,
    )  # fmt: skip


@page(roles=IMPORTERS)
@require_POST
def import_run(request: HttpRequest) -> HttpResponse:
    """Import the file a check saved (named by its token), then show its outcome (a redirect,
    so reloading the page never imports again)."""
    try:
        pending = pending_import(request.POST.get("token", ""), user_id=request.user.pk)
    except (NotFound, PermissionDenied) as error:
        gone = _("This upload has expired, was imported already or is another user's; upload "
                 "the file again.")  # fmt: skip
        status = 403 if isinstance(error, PermissionDenied) else 410
        return _render(request, {"gone": gone}, status=status)
    who = Who(via=ImportVia.CONSOLE, actor=request.user.get_username(), user_id=request.user.pk)
    try:
        answer = import_upload(
            pending.upload, pending.kind, options=pending.options, who=who,
            allow_moves=pending.allow_moves, allow_moves_as=MOVES_AS,
        )  # fmt: skip
    except ImportsBusy as busy:
        report = Report(file_name=pending.upload.name, kind=pending.kind,
                        token=request.POST["token"])  # fmt: skip
        return _render(request, {"report": report, "busy": busy.retry_after}, status=503)
    discard(pending.upload)  # imported, or refused for good: recorded in the history
    return redirect(f"{reverse('ingest:imports')}?run={answer.run_id}#outcome")
