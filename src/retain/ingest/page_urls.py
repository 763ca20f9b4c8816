"""The console's imports page, mounted at ``/imports/`` (the tracking door is ``urls.py``)."""

from __future__ import annotations

from django.urls import path

from retain.ingest import views

app_name = "ingest"
urlpatterns = [
    path("", views.import_page, name="imports"),
    # The body limit of an upload applies here (retain.server.middleware.body_rule).
    path("check/", views.import_check, name="check"),
    path("run/", views.import_run, name="run"),
]
