from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from retain.console.frame import NavEntry


class IngestConfig(AppConfig):
    name = "retain.ingest"
    label = "ingest"
    verbose_name = "Ingest"
    #: Bulk imports: upload, check, import, and the history (agents do not import).
    navigation = [
        NavEntry("ingest:imports", _("Imports"), roles=frozenset({"admin", "analyst"}), order=30)
    ]
