"""The Django admin for users and API keys, going through the accounts services.

The admin is one more door to the same rules as the CLI and the API: a user's Django flags
follow their role (:func:`set_role`), and a key is made by :func:`create_api_key`, its plain
text shown once in a message and only its prefix ever displayed (never the hash).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from retain.accounts.models import SCOPES, ApiKey, User
from retain.accounts.services import (
    check_user_change,
    checked_scopes,
    create_api_key,
    expiry_after,
    revoke_api_key,
    set_role,
)
from retain.errors import RuleViolation

#: What the role decides; shown in the user form, never edited there.
_ROLE_FLAGS = ("is_staff", "is_superuser")


@admin.register(User)
class RetainUserAdmin(UserAdmin):
    """Users, whose ``is_staff``/``is_superuser`` are derived from the role on every save."""

    list_display = ("username", "email", "role", "is_active", "is_staff", "is_superuser")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {
            "fields": ("is_active", "role", *_ROLE_FLAGS),
            "description": "Admins may use this admin and have every scope; "
                           "the staff and superuser flags follow the role.",
        }),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )  # fmt: skip
    add_fieldsets = (
        (None, {
            "classes": ("wide",),
            "fields": ("username", "role", "usable_password", "password1", "password2"),
        }),
    )  # fmt: skip
    readonly_fields = _ROLE_FLAGS

    def get_form(self, request, obj=None, change=False, **kwargs):
        """On a change, the form refuses what :func:`check_user_change` refuses (demoting or
        deactivating oneself, or the last active admin), as an error on the form."""
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form

        class CheckedForm(form):
            def clean(self) -> dict:
                data = super().clean()
                user = self.instance  # not yet changed: the model is updated after clean()
                try:
                    check_user_change(
                        user, role=data.get("role", user.role),
                        active=data.get("is_active", user.is_active), by=request.user,
                    )  # fmt: skip
                except RuleViolation as error:
                    raise forms.ValidationError(error.message) from None
                return data

        return CheckedForm

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        set_role(obj, form.cleaned_data.get("role", obj.role))
        super().save_model(request, obj, form, change)


class ApiKeyCreationForm(forms.ModelForm):
    """What a person chooses for a new key; the prefix and secret come from the service."""

    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in SCOPES], widget=forms.CheckboxSelectMultiple
    )
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, help_text="Leave empty for a key that lives until revoked."
    )

    class Meta:
        model = ApiKey
        fields = ("name",)

    def clean_scopes(self) -> list[str]:
        try:
            return checked_scopes(self.cleaned_data["scopes"])
        except RuleViolation as error:
            raise forms.ValidationError(str(error)) from None


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys by name and prefix; "add" makes a working key and shows it once; keys are revoked
    by an action, through the service, and otherwise not edited."""

    list_display = (
        "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at",
    )  # fmt: skip
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    fields = ("name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("name", "scopes", "expires_in_days") if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        days = form.cleaned_data.get("expires_in_days")
        key, plain = create_api_key(
            form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=expiry_after(days) if days else None,
        )
        # The admin goes on with the object it built (to log and link it): make it the key.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding, obj._state.db = False, key._state.db
        messages.warning(
            request,
            f"The new API key {key.name!r} is {plain} — copy it now: "
            "it is shown this once and cannot be recovered.",
        )

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = [revoke_api_key(key.prefix) for key in queryset]
        messages.success(request, f"{len(revoked)} API key(s) revoked.")
