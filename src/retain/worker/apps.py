from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "retain.worker"
    label = "worker"
    verbose_name = "Background jobs"
