from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "retain.accounts"
    label = "accounts"
    verbose_name = "Accounts"
