"""Installing retain as a user would: the wheel ``uv build`` makes, in an empty virtual
environment, first as an analyst (no ``[server]`` extra), then with the store's parts.

The library never imports the server's parts; the store's commands say in one line how to add
them; ``retain demo`` runs from the wheel alone, its data files inside.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from retain.installed import SERVER_MODULES
from tests.workspace import DEFAULT_TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("retain.stats", "retain.analytics", "retain.scoring", "retain.report")
SERVER_COMMANDS = (
    ["serve"],
    ["worker"],
    ["migrate"],
    ["rescore"],
    ["keys", "create", "shop", "--scopes", "read"],
    ["users", "create", "ann", "--role", "analyst"],
    ["import", "orders", "orders.csv"],
)


def _server_modules_after_importing(*modules: str) -> list[str]:
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + "print(' '.join(sorted({name.partition('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return sorted(set(done.stdout.split()).intersection(SERVER_MODULES))


def test_the_library_and_the_command_line_import_no_server_part() -> None:
    modules = [*LIBRARY, "retain.cli", "retain.demo", "retain.demo_store"]
    assert _server_modules_after_importing(*modules) == []


def test_the_probe_sees_server_parts_when_they_are_imported() -> None:
    assert _server_modules_after_importing("retain.server.commands", "django") == ["django"]


def test_the_makefile_and_the_tests_share_one_postgresql_default() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^export RETAIN_TEST_DATABASE_URL \?= (\S+)$", makefile, re.MULTILINE)
    assert found is not None
    assert found.group(1) == DEFAULT_TEST_DATABASE_URL


# --- the wheel, in an empty virtual environment --------------------------------------------


def _uv() -> str:
    """The uv that ``make`` uses (``RETAIN_UV``), else one on the PATH or in ``.tools``."""
    for candidate in (os.environ.get("RETAIN_UV"), shutil.which("uv"), ROOT / ".tools/bin/uv"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("uv is missing: `make test` installs it into .tools/")


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, check=True):
    done = subprocess.run(
        [str(part) for part in command], stdin=subprocess.DEVNULL,
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if check:
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


def _locked_requirements(uv: str, path: Path, *extras: str) -> Path:
    """The locked versions of the dependencies (not the project itself) with ``extras``."""
    flags = [flag for extra in extras for flag in ("--extra", extra)]
    _run(uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--format",
         "requirements-txt", *flags, "-o", path, cwd=ROOT)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def wheel_install(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel, built now and installed in an empty venv with the base dependencies only."""
    uv, folder = _uv(), tmp_path_factory.mktemp("install")
    _run(uv, "build", "--wheel", "--out-dir", folder / "dist", cwd=ROOT)
    (wheel,) = (folder / "dist").glob("retain_engine-*.whl")
    venv = folder / "venv"
    _run(uv, "venv", "--python", sys.executable, venv, cwd=folder)
    python = venv / "bin" / "python"
    base = _locked_requirements(uv, folder / "base.txt")
    _run(uv, "pip", "install", "--python", python, "-r", base, wheel, cwd=folder)
    return {"uv": Path(uv), "folder": folder, "venv": venv, "python": python}


def _user_environment(home: Path) -> dict[str, str]:
    """A user's shell: a workspace of their own, none of the test run's settings."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RETAIN_", "PYTEST_", "DJANGO_", "VIRTUAL_ENV", "UV_"))
        and name not in ("DATABASE_URL", "PYTHONPATH")
    }
    return {**environment, "RETAIN_HOME": str(home)}


@pytest.mark.slow
def test_the_wheel_runs_the_demo_for_an_analyst_then_with_the_server_extra(
    wheel_install: dict[str, Path],
) -> None:
    folder, venv, python = wheel_install["folder"], wheel_install["venv"], wheel_install["python"]
    retain = venv / "bin" / "retain"
    where = _run(python, "-c", "import retain; print(retain.__file__)", cwd=folder).stdout
    assert Path(where.strip()).is_relative_to(venv)  # the wheel's copy, not the checkout

    # An analyst's install: the models, the analytics and the report run; the store says how.
    analyst = _run(retain, "demo", "--out", folder / "analyst",
                   cwd=folder, env=_user_environment(folder / "home-analyst"))  # fmt: skip
    assert analyst.stderr == ""
    assert "BG/NBD" in analyst.stdout and "-9582.43" in analyst.stdout  # CDNOW, from the wheel
    assert (folder / "analyst" / "report.html").stat().st_size > 10_000
    store_part = analyst.stdout.split("The same shop in the operational store")[1]
    assert store_part.strip().splitlines()[1:] == [
        "skipped: the store needs the [server] extra: pip install 'retain-engine[server]' "
        "(in a checkout: pip install '.[server]')"
    ]
    (folder / "orders.csv").write_text("order_id,customer_id\n1,1\n", encoding="utf-8")
    for command in SERVER_COMMANDS:
        environment = {**_user_environment(folder / "home-analyst"), "RETAIN_PASSWORD": "x" * 12}
        refused = _run(retain, *command, cwd=folder, env=environment, check=False)
        assert refused.returncode == 2, (command, refused.stderr)
        assert refused.stdout == ""
        assert refused.stderr.splitlines() == [
            f"error: retain {command[0]}: this needs the store's server parts (django, ninja, "
            "uvicorn, psycopg, psycopg_pool, whitenoise not installed): pip install "
            "'retain-engine[server]' (in a checkout: pip install '.[server]')"
        ]

    # With the [server] extra (locked versions): the store half runs too.
    server = _locked_requirements(str(wheel_install["uv"]), folder / "server.txt", "server")
    _run(wheel_install["uv"], "pip", "install", "--python", python, "-r", server, cwd=folder)
    full = _run(retain, "demo", "--out", folder / "full",
                cwd=folder, env=_user_environment(folder / "home-server"))  # fmt: skip
    assert full.stderr == ""
    assert "imported orders: 40,901 rows, 40,901 created" in full.stdout
    assert re.search(r"scored 9,876 customers with \S+", full.stdout)
    assert (folder / "home-server" / "retain.sqlite3").is_file()
