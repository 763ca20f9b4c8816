from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from retain.console.frame import NavEntry


class AccountsConfig(AppConfig):
    name = "retain.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    #: One entry for the admins' settings (API keys, users), tabs on the pages themselves.
    navigation = [
        NavEntry("accounts:settings", _("Settings"), roles=frozenset({"admin"}), order=90)
    ]

    def ready(self) -> None:
        """Count failed and successful sign-ins of every door for the login throttle."""
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from retain.accounts.throttle import client_address, login_throttle

        def failed(sender, credentials, request=None, **kwargs) -> None:
            username = str(credentials.get("username", ""))
            login_throttle.failed(username, client_address(request))

        def succeeded(sender, request, user, **kwargs) -> None:
            login_throttle.succeeded(user.get_username())

        user_login_failed.connect(failed, weak=False, dispatch_uid="retain-login-failed")
        user_logged_in.connect(succeeded, weak=False, dispatch_uid="retain-login-succeeded")
