"""Routes: the admin, the health probe, the tracking door and the REST API."""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from retain.server.api import api


def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and probes: up, and the store answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


urlpatterns = [
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("v1/", include("retain.ingest.urls")),
]
