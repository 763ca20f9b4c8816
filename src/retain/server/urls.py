"""Routes: the admin, the health probe, the tracking door and the REST API."""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found

from retain.problems import problem
from retain.server.api import api


def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and probes: up, and the store answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


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
]
