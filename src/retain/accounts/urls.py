from __future__ import annotations

from django.urls import path

from retain.accounts.views import index, keys, users

app_name = "accounts"
urlpatterns = [
    path("", index.settings_home, name="settings"),
    path("keys/", keys.key_list, name="keys"),
    path("keys/<str:prefix>/revoke/", keys.key_revoke, name="key_revoke"),
    path("users/", users.user_list, name="users"),
    path("users/<int:pk>/role/", users.user_role, name="user_role"),
    path("users/<int:pk>/active/", users.user_active, name="user_active"),
]
