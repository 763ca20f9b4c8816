from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from retain.console.frame import NavEntry


class CustomersConfig(AppConfig):
    name = "retain.customers"
    label = "customers"
    verbose_name = _("Customers")
    navigation = [
        NavEntry("customers:list", _("Customers"), order=10),
        NavEntry("segments:overview", _("Segments"), order=20),
    ]
