"""`retain serve` on PostgreSQL without RETAIN_SECRET_KEY says, as a WARNING line, that other
servers on the database will not accept its sessions; on SQLite or with the key it does not."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import connection

from retain.server.background import free_port
from retain.store_config import unshared_key_warning
from tests.store import child_environment

PG = "postgresql://postgres@127.0.0.1:5432/retain"


@pytest.mark.parametrize(
    ("url", "key", "warns"),
    [(PG, None, True), (PG, "", True), (PG, "k" * 50, False), (None, None, False),
     ("sqlite:///tmp/x.sqlite3", None, False)],
)  # fmt: skip
def test_only_postgresql_without_a_shared_key_warns(url, key, warns) -> None:
    message = unshared_key_warning(url, key)
    assert (message is not None) == warns
    if warns:
        assert "RETAIN_SECRET_KEY is not set" in message
        assert "other servers on this PostgreSQL database do not accept its sessions" in message


@pytest.mark.django_db(transaction=True)
def test_serve_says_so_as_it_starts() -> None:
    environment = child_environment()
    environment.pop("RETAIN_SECRET_KEY", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "retain.cli", "serve", "--port", str(free_port())],
        env=environment, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        lines = []
        for line in child.stderr:
            lines.append(line)
            if line.startswith("retain serving on"):
                break
    finally:
        child.terminate()
        child.wait(timeout=30)
        child.stderr.close()
    warned = [line for line in lines if "RETAIN_SECRET_KEY is not set" in line]
    assert len(warned) == (1 if connection.vendor == "postgresql" else 0), lines
