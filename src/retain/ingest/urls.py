"""The Segment-compatible tracking door, mounted at ``/v1/``."""

from __future__ import annotations

from django.urls import path

from retain.ingest import tracking

urlpatterns = [
    path("identify", tracking.identify),
    path("track", tracking.track),
    path("page", tracking.page),
    path("screen", tracking.screen),
    path("group", tracking.group),
    path("alias", tracking.alias),
    path("batch", tracking.batch),
    # Segment's own clients also use these older names.
    path("import", tracking.batch),
]
