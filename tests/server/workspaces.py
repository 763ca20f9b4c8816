"""Fresh workspaces for CLI tests: `retain` run in a child process as a new user would, on an
empty RETAIN_HOME (the embedded store) or on a new, empty PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.workspace import postgres_test_url

ROOT = Path(__file__).resolve().parents[2]
#: What a fresh workspace must not inherit from the test run's own environment.
_INHERITED = ("DATABASE_URL", "RETAIN_PASSWORD", "RETAIN_SECRET_KEY", "RETAIN_HOME")


def fresh_environment(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child ``retain`` on the empty workspace ``home``."""
    environment = {name: value for name, value in os.environ.items() if name not in _INHERITED}
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**environment, "RETAIN_HOME": str(home), "PYTHONPATH": path, **extra}


def start_retain(arguments: Sequence[str], environment: dict[str, str]) -> subprocess.Popen:
    """``python -m retain.cli ...`` with no terminal on stdin (as under cron or CI)."""
    return subprocess.Popen(
        [sys.executable, "-m", "retain.cli", *arguments], env=environment,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_retain(arguments: Sequence[str], environment: dict[str, str]) -> Finished:
    return finish(start_retain(arguments, environment))


class Finished:
    """What a child ``retain`` did: exit code, stdout, stderr."""

    def __init__(self, returncode: int, out: str, err: str) -> None:
        self.returncode, self.out, self.err = returncode, out, err

    def __repr__(self) -> str:
        return f"exit {self.returncode}\nstdout: {self.out}\nstderr: {self.err}"


def finish(child: subprocess.Popen, timeout: float = 300) -> Finished:
    out, err = child.communicate(timeout=timeout)
    return Finished(child.returncode, out, err)


def postgres_url() -> str:
    """A PostgreSQL server to make databases on: the test run's own when it runs on
    PostgreSQL, else the one test setting, ``RETAIN_TEST_DATABASE_URL``."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    return postgres_test_url()


@contextmanager
def empty_postgres_database(name: str) -> Iterator[str]:
    """A new, empty database ``name`` on :func:`postgres_url`'s server, dropped afterwards;
    yields its URL."""
    import psycopg

    server = postgres_url()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
