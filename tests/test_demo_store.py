"""The store half of ``retain demo``: running it again leaves one live demo key, not one more
each time."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

RUN_TWICE = """
import sys
from pathlib import Path

from retain.datasets import make_business
from retain.demo_store import run_store_demo

business = make_business(300, seed=0)
for run in (1, 2):
    for line in run_store_demo(business, folder=Path(sys.argv[1]) / f"files-{run}"):
        if "Authorization: Bearer" in line:
            print(line.split("Bearer ")[1].split("'")[0])
"""


@pytest.mark.slow
def test_running_the_store_demo_twice_leaves_one_live_demo_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["RETAIN_HOME"] = str(home)  # a workspace of its own, empty at first
    done = subprocess.run(
        [sys.executable, "-c", RUN_TWICE, str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split()  # the key each run printed
    assert first != second

    with sqlite3.connect(home / "retain.sqlite3") as database:
        keys = database.execute(
            "SELECT prefix, revoked_at IS NULL FROM accounts_apikey WHERE name = 'demo'"
        ).fetchall()
    live = [prefix for prefix, is_live in keys if is_live]
    assert len(keys) == 2
    assert live == [second.split("_")[1]]  # rk_<prefix>_<secret>: the last run's key
