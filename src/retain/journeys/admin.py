"""Journeys and their versions in the Django admin, to look at: a journey changes by applying
its document (``retain journeys apply``, ``POST /api/v1/journeys``), never by editing rows,
so that every version stays as it was applied."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from retain.journeys.models import Journey, JourneyVersion


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(admin.TabularInline):
    model = JourneyVersion
    fields = ("number", "applied_at", "applied_by", "source", "content_hash")
    readonly_fields = fields
    ordering = ("-number",)
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Journey)
class JourneyAdmin(_ReadOnly):
    list_display = ("key", "name", "status", "version", "updated_at")
    list_filter = ("status",)
    list_select_related = ("current",)
    search_fields = ("key", "name")
    inlines = (VersionInline,)

    @admin.display(description="version")
    def version(self, journey: Journey) -> int | None:
        return journey.current.number if journey.current else None


@admin.register(JourneyVersion)
class JourneyVersionAdmin(_ReadOnly):
    list_display = ("journey", "number", "applied_at", "applied_by", "source")
    list_select_related = ("journey",)
    search_fields = ("journey__key",)
