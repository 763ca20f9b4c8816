"""Each ingest test's uploads and import turn in a workspace of its own: xdist's workers share
the run's workspace, and the turn is one per workspace (``retain.ingest.upload_turns``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def own_upload_workspace(settings, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    settings.HOME = home
    return home
