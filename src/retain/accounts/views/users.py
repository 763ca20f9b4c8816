"""``/settings/users/``: who may sign in, with what role; adding, promoting, deactivating."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from retain.accounts.forms import ActiveForm, RoleForm, UserForm
from retain.accounts.models import Role, User
from retain.accounts.services import (
    change_role,
    create_user,
    get_user,
    list_users,
    set_active,
)
from retain.console.frame import page
from retain.errors import Conflict, NotFound, RuleViolation

ADMINS = frozenset({"admin"})


@page(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def user_list(request: HttpRequest) -> HttpResponse:
    """Every user with their role and last sign-in, and the form to add one (POST)."""
    form = UserForm(request.POST) if request.method == "POST" else UserForm()
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    user = create_user(
                        data["username"], password=data["password"], role=data["role"]
                    )
            except (RuleViolation, Conflict) as error:
                field = error.details.get("field")
                form.add_error(field if field in form.fields else None, error.message)
            else:
                messages.success(
                    request, _("%(name)s can sign in now, as %(role)s.") % {
                        "name": user.username, "role": user.get_role_display(),
                    },
                )  # fmt: skip
                return redirect("accounts:users")
        return _render_list(request, form, status=400)
    return _render_list(request, form)


@page(roles=ADMINS)
@require_POST
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a user's role; refused for the admin's own and the last admin's."""
    user = _user(pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _render_list(request, error=_("Choose one of the roles."), status=400)
    try:
        with transaction.atomic():
            change_role(user, form.cleaned_data["role"], by=request.user)
    except RuleViolation as error:
        return _render_list(request, error=error.message, status=400)
    messages.success(
        request, _("%(name)s is now %(role)s.") % {
            "name": user.username, "role": user.get_role_display(),
        },
    )  # fmt: skip
    return redirect("accounts:users")


@page(roles=ADMINS)
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (``active=0``) or reactivate (``active=1``) a user."""
    user = _user(pk)
    form = ActiveForm(request.POST)
    if not form.is_valid():
        return _render_list(request, error=_("Say whether to activate the user."), status=400)
    active = form.cleaned_data["active"]
    try:
        with transaction.atomic():
            set_active(user, active, by=request.user)
    except RuleViolation as error:
        return _render_list(request, error=error.message, status=400)
    done = _("%(name)s can sign in again.") if active else _("%(name)s can no longer sign in.")
    messages.success(request, done % {"name": user.username})
    return redirect("accounts:users")


def _user(pk: int) -> User:
    try:
        return get_user(pk)
    except NotFound:
        raise Http404(pk) from None


def _render_list(
    request: HttpRequest, form: UserForm | None = None, *, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request, "accounts/users.html",
        {"users": list_users(), "form": form or UserForm(), "roles": Role.choices,
         "error": error},
        status=status,
    )  # fmt: skip
