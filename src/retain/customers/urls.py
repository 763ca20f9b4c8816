from __future__ import annotations

from django.urls import path

from retain.customers.views import export, profile, search

app_name = "customers"
urlpatterns = [
    path("", search.customer_list, name="list"),
    path("export.csv", export.customer_export, name="export"),
    path("<path:external_id>/", profile.customer_detail, name="detail"),
]
