"""The public pages linked from emails, mounted under ``/m/``."""

from __future__ import annotations

from django.urls import path

from retain.messaging import views

app_name = "messaging"
urlpatterns = [
    path("unsubscribe/<str:token>", views.unsubscribe_page, name="unsubscribe"),
    path("click/<str:token>", views.click, name="click"),
    path("open/<str:token>", views.open_pixel, name="open"),
]
