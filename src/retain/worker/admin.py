from django.contrib import admin

from retain.worker.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "attempts", "run_after", "finished_at")
    list_filter = ("status", "name")
    readonly_fields = ("created_at", "finished_at", "last_error")
