from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from retain.console.frame import NavEntry


class ConsoleConfig(AppConfig):
    name = "retain.console"
    label = "console"
    verbose_name = _("Console")
    navigation = [NavEntry("console:home", _("Overview"), order=0)]
