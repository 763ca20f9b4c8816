"""The segments page at ``/segments/``: a page of the customers app (it owns the scores, the
stages and segments in them, and the list its rows link to) with an address of its own."""

from __future__ import annotations

from django.urls import path

from retain.customers.views import segments

app_name = "segments"
urlpatterns = [path("", segments.segments_overview, name="overview")]
