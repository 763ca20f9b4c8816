"""The Django project that runs the operational store: settings, URLs, ASGI and WSGI."""

from __future__ import annotations

import os


def setup() -> None:
    """Configure Django for retain's settings (idempotent); for the CLI and scripts."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retain.server.settings")
    django.setup()
