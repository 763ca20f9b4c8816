from __future__ import annotations

from django.urls import path

from retain.customers.views import profile, search

app_name = "customers"
urlpatterns = [
    path("", search.customer_list, name="list"),
    path("<path:external_id>/", profile.customer_detail, name="detail"),
]
