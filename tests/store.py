"""Helpers for store tests that start real processes (server, worker) on the test database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from retain.server.background import background_server


def test_database_url() -> str:
    """The URL of the database this test runs on, for a child process to use."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user, host = settings["USER"] or "postgres", settings["HOST"] or "127.0.0.1"
    return f"postgresql://{user}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


def child_environment(**extra: str) -> dict[str, str]:
    root = Path(__file__).resolve().parents[1]
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONPATH": path, **extra}


@contextmanager
def running_server(*, workers: int = 1) -> Iterator[str]:
    """``retain serve`` on a free loopback port, on the test database; yields its base URL."""
    with background_server(workers=workers, environment=child_environment()) as base:
        yield base
