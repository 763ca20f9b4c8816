"""Every ingest test's uploads and import turn in a workspace of its own (see the fixture)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_upload_workspace(own_upload_workspace):
    return own_upload_workspace
