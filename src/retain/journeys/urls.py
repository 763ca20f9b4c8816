from __future__ import annotations

from django.urls import path

from retain.journeys.views import applying, journey, listing, preview, timeline

app_name = "journeys"
urlpatterns = [
    path("", listing.journey_list, name="list"),
    # No trailing slash on the pages that are not a journey's: "apply" and "timeline" are
    # valid journey keys, whose pages are "/journeys/apply/" and "/journeys/timeline/".
    path("apply", applying.apply_page, name="apply"),
    path("timeline", timeline.customer_timeline, name="timeline"),
    path("<str:key>/", journey.journey_detail, name="detail"),
    path("<str:key>/pause", journey.pause, name="pause"),
    path("<str:key>/resume", journey.resume, name="resume"),
    path("<str:key>/archive", journey.archive, name="archive"),
    path("<str:key>/preview/", preview.preview_page, name="preview"),
    path("<str:key>/preview/<str:step>/html", preview.preview_html, name="preview_html"),
]
