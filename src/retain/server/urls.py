"""Routes: the admin, the health probe, the tracking door and the REST API."""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found

from retain.customers.queries import last_rescoring
from retain.ingest.queries import count_failed_messages, count_waiting_messages, pending_lag
from retain.problems import problem
from retain.server.api import api


def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and probes: up, and the store answers (200 while it does). Also
    what needs a person: tracking messages that failed (``retain ingest retry`` after a fix)
    and whether the last rescoring failed, with its reason; whether applying keeps up
    (messages waiting to be applied and the age of the oldest, in seconds); and the tracking
    messages that wait for their anonymousId's customer or their order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    run = last_rescoring()
    rescoring = None
    if run is not None:
        rescoring = {
            "failed": not run.succeeded, "at": run.finished_at.isoformat(),
            "reason": run.reason, "customers_scored": run.customers_scored,
            "customers_skipped": run.customers_skipped,
        }  # fmt: skip
    pending, lag = pending_lag()
    return JsonResponse(
        {
            "status": "ok",
            "database": connection.vendor,
            "failed_messages": count_failed_messages(),
            "waiting_messages": count_waiting_messages(),
            "pending_messages": pending,
            "apply_lag_seconds": round(lag, 3),
            "last_rescoring": rescoring,
        }
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Unknown addresses under the APIs answer in problem+json like the rest of them."""
    if request.path.startswith(("/api/", "/v1/")):
        return problem(404, "not_found", f"no such address: {request.path}")
    return page_not_found(request, exception)


handler404 = not_found

urlpatterns = [
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("v1/", include("retain.ingest.urls")),
    path("customers/", include("retain.customers.urls")),
    path("segments/", include("retain.customers.segment_urls")),
    path("imports/", include("retain.ingest.page_urls")),
    path("journeys/", include("retain.journeys.urls")),
    path("settings/", include("retain.accounts.urls")),
    path("m/", include("retain.messaging.urls")),
    path("", include("retain.console.urls")),
]
