from __future__ import annotations

from django.urls import path

from retain.customers.views import export, profile, search

app_name = "customers"
urlpatterns = [
    path("", search.customer_list, name="list"),
    path("export.csv", export.customer_export, name="export"),
    # No trailing slash: "/customers/count/" is the 360 of a customer whose id is "count".
    path("count", search.customer_count, name="count"),
    path("<path:external_id>/", profile.customer_detail, name="detail"),
]
