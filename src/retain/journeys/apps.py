from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from retain.console.frame import NavEntry


class JourneysConfig(AppConfig):
    name = "retain.journeys"
    label = "journeys"
    verbose_name = _("Journeys")
    navigation = [NavEntry("journeys:list", _("Journeys"), order=40)]
