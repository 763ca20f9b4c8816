"""``/settings/keys/``: the API keys, a new one shown once, revoking one after a confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from retain.accounts.forms import KeyForm
from retain.accounts.services import (
    create_api_key,
    expiry_after,
    get_api_key,
    key_state,
    list_api_keys,
    revoke_api_key,
)
from retain.console.frame import page
from retain.errors import NotFound, RuleViolation

ADMINS = frozenset({"admin"})
#: Where a new key's plain text waits, in the admin's own session, for the one page that
#: shows it: the redirect after the POST pops it, so reloading that page shows it no more.
NEW_KEY = "accounts.new_api_key"


@page(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def key_list(request: HttpRequest) -> HttpResponse:
    """Every key (never its hash), the form for a new one; after creating, the key once."""
    form = KeyForm(request.POST) if request.method == "POST" else KeyForm()
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    days = data["expires_in"]
                    key, plain = create_api_key(
                        data["name"], scopes=data["scopes"],
                        expires_at=expiry_after(days) if days else None,
                    )  # fmt: skip
            except RuleViolation as error:
                field = error.details.get("field")
                form.add_error(field if field in form.fields else None, error.message)
            else:
                request.session[NEW_KEY] = {"name": key.name, "plain": plain}
                return redirect("accounts:keys")
        return _render_list(request, form, status=400)
    return _render_list(request, form, new_key=request.session.pop(NEW_KEY, None))


def _render_list(
    request: HttpRequest, form: KeyForm, *, new_key: dict | None = None, status: int = 200
) -> HttpResponse:
    response = render(
        request, "accounts/keys.html",
        {"keys": [(key, key_state(key)) for key in list_api_keys()], "form": form,
         "new_key": new_key},
        status=status,
    )  # fmt: skip
    # The page may hold a key in plain text: no cache keeps it, not even the browser's.
    add_never_cache_headers(response)
    return response


@page(roles=ADMINS)
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    """GET: what revoking this key means, and the button; POST: revoke it at once."""
    try:
        key = get_api_key(prefix)
    except NotFound:
        raise Http404(prefix) from None
    if request.method == "POST":
        with transaction.atomic():
            key = revoke_api_key(key.prefix)
        messages.success(
            request, _("The key “%(name)s” (%(prefix)s) is revoked.") % {
                "name": key.name, "prefix": key.prefix,
            },
        )  # fmt: skip
        return redirect("accounts:keys")
    return render(request, "accounts/key_revoke.html", {"key": key})
