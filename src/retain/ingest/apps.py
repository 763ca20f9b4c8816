from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "retain.ingest"
    label = "ingest"
    verbose_name = "Ingest"
