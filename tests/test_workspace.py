"""Each test run has a workspace of its own: it never writes ``./retain-data`` in the working
tree, nor reads the developer's ``RETAIN_HOME`` or secret key, even under xdist."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.workspace import RUN_FOLDER

ROOT = Path(__file__).resolve().parents[1]
DEVELOPERS_KEY = "the-developers-own-secret-key"

PROBE = """
import json, os
from pathlib import Path

from django.conf import settings


def test_one():
    _record("one")


def test_two():
    _record("two")


def _record(name):
    seen = {"home": str(settings.HOME), "key": settings.SECRET_KEY,
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "")}
    Path(os.environ["PROBE_OUT"], name + ".json").write_text(json.dumps(seen))
"""


def test_this_run_uses_its_own_workspace_and_secret_key() -> None:
    run_folder = Path(os.environ[RUN_FOLDER])
    home = Path(settings.HOME)
    assert home.is_relative_to(run_folder)
    assert home != (Path.cwd() / "retain-data").resolve()
    assert not home.is_relative_to(ROOT)
    developers_file = Path.cwd() / "retain-data" / "secret_key"
    if developers_file.exists():  # a developer's checkout that ran the demo
        assert developers_file.read_text(encoding="utf-8").strip() != settings.SECRET_KEY
    assert os.environ["RETAIN_SECRET_KEY"] == settings.SECRET_KEY


def _project_copy(folder: Path) -> Path:
    """The project's pytest configuration and test plugin, and a probe test, in ``folder``."""
    folder.mkdir()
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    tests = folder / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(ROOT / "tests" / "workspace.py", tests / "workspace.py")
    (tests / "test_probe.py").write_text(PROBE, encoding="utf-8")
    return folder


def _developers_environment(home: Path, out: Path) -> dict[str, str]:
    """A developer's shell: their own RETAIN_HOME holding their secret key; no test run's."""
    home.mkdir()
    (home / "secret_key").write_text(DEVELOPERS_KEY, encoding="utf-8")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "RETAIN_")) and name != "DATABASE_URL"
    }
    return {**environment, "RETAIN_HOME": str(home), "PROBE_OUT": str(out)}


def _pytest(folder: Path, environment: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_collecting_writes_no_workspace_in_the_working_tree(tmp_path) -> None:
    folder = _project_copy(tmp_path / "project")
    environment = _developers_environment(tmp_path / "developer", tmp_path)
    del environment["RETAIN_HOME"]  # the default, ./retain-data, is what must stay unwritten

    output = _pytest(folder, environment, "--co", "-q")

    assert "2 tests collected" in output
    assert sorted(path.name for path in folder.iterdir()) == ["pyproject.toml", "tests"]


def test_a_run_ignores_the_developers_workspace_and_key_even_under_xdist(tmp_path) -> None:
    folder = _project_copy(tmp_path / "project")
    developer = tmp_path / "developer"
    environment = _developers_environment(developer, tmp_path)

    _pytest(folder, environment, "-n", "2", "-q")

    seen = [json.loads((tmp_path / f"{name}.json").read_text()) for name in ("one", "two")]
    assert {record["worker"] for record in seen} <= {"gw0", "gw1"}
    assert all(record["worker"] for record in seen)
    assert len({record["home"] for record in seen}) == 1  # the workers share the run's
    assert len({record["key"] for record in seen}) == 1
    home = Path(seen[0]["home"])
    assert not home.is_relative_to(developer)
    assert not home.is_relative_to(folder)
    assert not home.exists()  # removed at the end of the run
    assert seen[0]["key"] != DEVELOPERS_KEY
    assert sorted(path.name for path in developer.iterdir()) == ["secret_key"]
    assert sorted(path.name for path in folder.iterdir()) == ["pyproject.toml", "tests"]
