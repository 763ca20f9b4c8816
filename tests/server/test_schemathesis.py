"""schemathesis fuzzes a live ``retain serve`` with its own OpenAPI document: every check,
a bounded, derandomized run, with an API key holding every scope. It must find no server
error, no status code the document does not list and no response that breaks its schema."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from retain.accounts.services import create_api_key
from tests.store import child_environment, running_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
#: Test cases per operation and phase: the run stays well under a minute per database.
EXAMPLES = 30
#: Every documented operation: the REST API and the tracking door (whose fuzzing found a 500
#: on PostgreSQL for a time offset beyond +-15:59 until times were stored in UTC).
FUZZED = "^/"
OPERATIONS = 22


def fuzz(base: str, key: str, folder: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
        "--no-color", "run", f"{base}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {key}", "--checks", "all",
        "--include-path-regex", FUZZED, "--max-examples", str(EXAMPLES),
        "--generation-deterministic", "--workers", "1",
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=folder, env=child_environment(), capture_output=True, text=True, timeout=600
    )


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_undocumented_status(tmp_path: Path) -> None:
    _, key = create_api_key("fuzz", scopes=["track", "read", "import", "write", "journeys"])
    with running_server() as base:
        run = fuzz(base, key, tmp_path)
    said = run.stdout + run.stderr
    assert run.returncode == 0, said[-6000:]
    assert re.search(rf"Operations:\s+{OPERATIONS} selected / {OPERATIONS} total", said), said
    assert re.search(rf"Tested:\s+{OPERATIONS}\b", said), said
    assert "Server error" not in said and "Undocumented status code" not in said
