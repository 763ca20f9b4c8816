"""A workspace of each test run's own, set before anything reads retain's settings.

pytest-django reads the Django settings (and so ``RETAIN_HOME`` and the secret key) while
pytest loads its plugins, before any ``conftest.py`` is imported. This module is loaded with
``-p tests.workspace`` from the ``addopts`` in pyproject.toml, so it is imported earlier still:
a run (even ``pytest --co``) never writes ``./retain-data`` in the working tree, nor reads the
developer's own secret key. xdist's workers inherit the run's folder from the environment.

It also holds the one setting for the PostgreSQL server the tests use,
``RETAIN_TEST_DATABASE_URL`` (the Makefile exports the same default).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

#: The PostgreSQL server (and database) the engine tests use; ``make test`` also runs the store
#: tests on it (``DATABASE_URL``, each run in a database of its own).
DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: Set to the run's folder by the process that made it (the controller under xdist).
RUN_FOLDER = "RETAIN_TEST_RUN_FOLDER"


def _own_workspace() -> Path | None:
    """Point ``RETAIN_HOME`` and ``RETAIN_SECRET_KEY`` at this run's own; the folder if this
    process made it (then it removes it at the end), None in a worker that inherited it."""
    if os.environ.get(RUN_FOLDER):
        return None
    folder = Path(tempfile.mkdtemp(prefix="retain-test-run-"))
    os.environ[RUN_FOLDER] = str(folder)
    os.environ["RETAIN_HOME"] = str(folder / "home")
    os.environ["RETAIN_SECRET_KEY"] = secrets.token_urlsafe(50)
    return folder


os.environ.setdefault("RETAIN_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
_made_here = _own_workspace()


def postgres_test_url() -> str:
    """The PostgreSQL URL the engine tests connect to (``RETAIN_TEST_DATABASE_URL``)."""
    return os.environ["RETAIN_TEST_DATABASE_URL"]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _made_here is not None:
        shutil.rmtree(_made_here, ignore_errors=True)
