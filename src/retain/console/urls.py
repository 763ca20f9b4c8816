from __future__ import annotations

from django.urls import path

from retain.console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.sign_in, name="sign_in"),
    path("logout/", views.sign_out, name="sign_out"),
    path("language/", views.set_language, name="set_language"),
]
