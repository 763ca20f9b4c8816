"""The workspace folder (0700), the SQLite file and its WAL files and the secret key (0600)
are readable by their owner only, from the moment they exist, whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest

from retain.store_config import create_private_file, database, secret_key, workspace
from tests.store import child_environment


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """A umask that would leave new files readable by everyone (0644, folders 0755)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_workspace_and_the_secret_key_are_the_owners_only(tmp_path, monkeypatch, open_umask):
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "nested" / "retain-data"))
    monkeypatch.delenv("RETAIN_SECRET_KEY", raising=False)
    home = workspace()
    key = secret_key(home)

    assert oct(mode(home)) == oct(0o700)
    assert oct(mode(home / "secret_key")) == oct(0o600)
    assert len(key) >= 50 and secret_key(home) == key  # generated once, then kept
    assert [path.name for path in home.iterdir()] == ["secret_key"]  # no temporary left


def test_an_existing_workspace_is_left_as_it_is(tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)
    monkeypatch.setenv("RETAIN_HOME", str(folder))
    assert workspace() == folder and oct(mode(folder)) == oct(0o750)


def test_the_sqlite_file_is_created_for_the_owner_only(tmp_path, open_umask):
    settings = database(None, tmp_path)
    path = Path(settings["NAME"])
    assert path == tmp_path / "retain.sqlite3"
    assert oct(mode(path)) == oct(0o600) and path.stat().st_size == 0


def test_a_private_file_is_never_seen_half_written(tmp_path):
    """Racing creators: exactly one wins, and every reader sees its whole content."""
    path = tmp_path / "secret_key"
    results: list[bool] = []
    contents = [f"key-{n}-".encode() * 1000 for n in range(8)]
    threads = [
        threading.Thread(target=lambda c=c: results.append(create_private_file(path, c)))
        for c in contents
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert path.read_bytes() in contents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]


def test_a_new_workspace_made_by_retain_is_private(tmp_path):
    """A real ``retain`` command on a new workspace, under umask 022."""
    home = tmp_path / "retain-data"
    environment = child_environment(RETAIN_HOME=str(home))
    environment.pop("DATABASE_URL")
    environment.pop("RETAIN_SECRET_KEY", None)
    subprocess.run(
        [sys.executable, "-m", "retain.cli", "keys", "list"], env=environment,
        check=True, capture_output=True, preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert oct(mode(home)) == oct(0o700)
    files = {path.name: oct(mode(path)) for path in home.iterdir() if path.is_file()}
    assert files["retain.sqlite3"] == oct(0o600) and files["secret_key"] == oct(0o600)
    assert set(files.values()) == {oct(0o600)}, files


def test_the_wal_files_take_the_database_files_mode(tmp_path, open_umask):
    path = Path(database(None, tmp_path)["NAME"])
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x)")
        connection.commit()
        wal = {name: oct(mode(tmp_path / name)) for name in ("retain.sqlite3-wal",
               "retain.sqlite3-shm")}  # fmt: skip
    assert wal == {"retain.sqlite3-wal": oct(0o600), "retain.sqlite3-shm": oct(0o600)}
