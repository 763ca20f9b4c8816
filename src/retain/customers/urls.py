from __future__ import annotations

from django.urls import path

from retain.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<path:external_id>/", views.customer_detail, name="detail"),
]
