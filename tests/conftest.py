"""Fixtures shared across the suite: the reference data sets, summarised once per session,
and the store's settings.

Store tests (under the Django apps' folders) are marked ``store``: ``make test`` runs them on
the embedded SQLite and again on PostgreSQL (``DATABASE_URL``), where they fail, never skip,
when the server cannot be reached.

Each run's workspace (``RETAIN_HOME``, the secret key) is set by ``tests/workspace.py``, a
plugin imported before pytest-django reads the settings: too late here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from retain.analytics import rfm_summary
from retain.datasets import load_cdnow_transactions

CDNOW_CALIBRATION_END = "1997-09-30"
CDNOW_OBSERVATION_END = "1998-06-30"
STORE_FOLDERS = (
    "accounts", "console", "customers", "ingest", "journeys", "messaging", "worker", "server",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        parts = Path(item.path).relative_to(root).parts
        if parts and parts[0] in STORE_FOLDERS:
            item.add_marker(pytest.mark.store)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each test run gets a database of its own: a SQLite file in its temporary folder, or a
    PostgreSQL database named after the process, so runs side by side never share one."""
    from django.db import connections

    test = connections["default"].settings_dict["TEST"]
    if connections["default"].vendor == "sqlite":
        test["NAME"] = str(tmp_path_factory.mktemp("store") / Path(test["NAME"]).name)
    else:
        test["NAME"] = f"{test['NAME'] or 'test_retain'}_{os.getpid()}"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    return load_cdnow_transactions()


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    """The 2,357 sample customers in weeks, calibrated to 1997-09-30, holdout to 1998-06-30."""
    return rfm_summary(
        cdnow_transactions,
        observation_end=CDNOW_OBSERVATION_END,
        calibration_end=CDNOW_CALIBRATION_END,
    )


@pytest.fixture
def own_upload_workspace(settings, tmp_path: Path) -> Path:
    """Uploads and the import turn in a workspace of the test's own: xdist's workers share
    the run's workspace, and the turn is one per workspace (``retain.ingest.upload_turns``)."""
    home = tmp_path / "home"
    home.mkdir()
    settings.HOME = home
    return home
