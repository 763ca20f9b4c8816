"""The console's forms for keys and users: what a person types, checked field by field with
messages in their language; the rules themselves stay in :mod:`retain.accounts.services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from retain.accounts.models import SCOPES, Role, User

#: The longest a key may live when given an expiry: ten years (a typo of a few more digits
#: is a mistake, not a wish).
MAX_KEY_DAYS = 3650


#: What each scope lets a key do, beside its checkbox.
SCOPE_HELP = {
    "track": _("send events to the tracking door (/v1/)"),
    "read": _("read customers and their scores from the REST API"),
    "import": _("import files through the REST API"),
    "write": _("change data through the REST API"),
    "journeys": _("apply, pause, resume and archive journeys through the REST API"),
}


class _Form(forms.Form):
    """Labels without Django's trailing colon, as the rest of the console writes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class KeyForm(_Form):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        help_text=_("Who or what uses the key, e.g. “shop tracking”."),
    )  # fmt: skip
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=[(scope, f"{scope}: {SCOPE_HELP[scope]}") for scope in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one scope: a key that may do nothing is of no use.")
        },
    )  # fmt: skip
    expires_in = forms.IntegerField(
        label=_("Expires after (days)"), required=False, min_value=1, max_value=MAX_KEY_DAYS,
        help_text=_("Leave empty for a key that lives until it is revoked."),
    )  # fmt: skip


class UserForm(_Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AGENT)
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html,
    )  # fmt: skip
    confirmation = forms.CharField(
        label=_("Password again"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )  # fmt: skip

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        for validator in User._meta.get_field("username").validators:
            validator(username)
        if User.objects.filter(username=username).exists():
            raise forms.ValidationError(
                _("A user named %(name)s exists already."), params={"name": username}
            )
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password, confirmation = data.get("password"), data.get("confirmation")
        if password and confirmation and password != confirmation:
            self.add_error("confirmation", _("The two passwords differ."))
        elif password:
            candidate = User(username=data.get("username", ""), role=data.get("role", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ActiveForm(forms.Form):
    active = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")], coerce=lambda value: value == "1"
    )
