"""The Django admin of the customers' tables."""

from django.contrib import admin

from retain.customers import models


class OrderInline(admin.TabularInline):
    model = models.Order
    extra = 0
    fields = ("external_id", "ordered_at", "amount", "currency", "status")


@admin.register(models.Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "email", "acquisition_channel", "signed_up_at")
    search_fields = ("external_id", "email", "name")
    list_filter = ("acquisition_channel",)
    inlines = [OrderInline]


@admin.register(models.Identity)
class IdentityAdmin(admin.ModelAdmin):
    """Identities are shown, never added, moved or deleted here.

    Pointing an identity at another customer would merge two people's histories silently,
    which :func:`retain.customers.services.link_identity` refuses: who is whom is decided by
    tracking and imports, through that service, not by a form.
    """

    list_display = ("kind", "value", "customer")
    search_fields = ("value", "customer__external_id")
    raw_id_fields = ("customer",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("customer", "channel", "granted", "updated_at")
    list_filter = ("channel", "granted")
    raw_id_fields = ("customer",)


@admin.register(models.Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("external_id", "customer", "ordered_at", "amount", "currency", "status")
    search_fields = ("external_id", "customer__external_id")
    list_filter = ("status", "channel")
    raw_id_fields = ("customer",)


@admin.register(models.Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("customer", "plan", "started_at", "ended_at", "mrr")
    list_filter = ("plan",)
    raw_id_fields = ("customer",)


@admin.register(models.Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("kind", "name", "customer", "occurred_at")
    list_filter = ("kind",)
    search_fields = ("name", "message_id", "customer__external_id")
    raw_id_fields = ("customer",)


@admin.register(models.Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ("external_id", "customer", "opened_at", "category", "severity", "resolved_at")
    list_filter = ("category", "severity")
    raw_id_fields = ("customer",)


@admin.register(models.SurveyAnswer)
class SurveyAnswerAdmin(admin.ModelAdmin):
    list_display = ("customer", "survey", "score", "answered_at")
    list_filter = ("survey",)
    raw_id_fields = ("customer",)


@admin.register(models.Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ("customer", "p_alive", "clv_12m", "churn_risk", "rfm_segment")
    list_filter = ("churn_risk", "rfm_segment", "lifecycle_stage")
    raw_id_fields = ("customer",)


@admin.register(models.DomainEvent)
class DomainEventAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "customer", "occurred_at")
    list_filter = ("name",)
    raw_id_fields = ("customer",)
