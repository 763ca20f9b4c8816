"""Every store command works as the very first command on a fresh workspace.

Each runs in a child process (``python -m retain.cli``) with no terminal on stdin. On an
empty ``RETAIN_HOME`` the embedded store is created and migrated by the command itself; on a
new, empty PostgreSQL database every command says in one line that ``retain migrate`` is
needed, and exits 2. (``retain serve`` as a first command on the embedded store is
``test_serve_worker.py``.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader

from retain.cli import main
from tests.accounts.builders import make_api_key
from tests.server.workspaces import (
    Finished,
    empty_postgres_database,
    finish,
    fresh_environment,
    run_retain,
    start_retain,
)

PASSWORD = {"RETAIN_PASSWORD": "correct horse battery"}
#: Each command, with what it needs, as the first command on an empty workspace.
FIRST_COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "keys create": (["keys", "create", "shop", "--scopes", "track,read"], {}),
    "keys list": (["keys", "list"], {}),
    "keys revoke": (["keys", "revoke", "shop"], {}),
    "users create": (["users", "create", "ann", "--role", "admin"], PASSWORD),
    "users create, no password": (["users", "create", "ann", "--role", "admin"], {}),
    "migrate": (["migrate"], {}),
    "rescore": (["rescore"], {}),
    "import": (["import", "customers", "{customers}"], {}),
    "worker": (["worker", "--max-jobs", "1"], {}),
}


def customers_file(folder: Path) -> str:
    path = folder / "customers.csv"
    path.write_text("customer_id,signed_up_at\nc-1,2026-01-05\n", encoding="utf-8")
    return str(path)


def arguments_in(arguments: list[str], folder: Path) -> list[str]:
    return [part.format(customers=customers_file(folder)) if "{" in part else part
            for part in arguments]  # fmt: skip


@pytest.fixture(scope="module")
def first_on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Finished]:
    """Every command run at once, each on an empty workspace of its own."""
    started = {}
    for name, (arguments, extra) in FIRST_COMMANDS.items():
        home = tmp_path_factory.mktemp("fresh")
        started[name] = start_retain(
            arguments_in(arguments, home), fresh_environment(home, **extra)
        )
    return {name: finish(child) for name, child in started.items()}


EXPECTED_ON_SQLITE = {
    "keys create": (0, r"(?m)^rk_[0-9a-f]{12}_\S+$"),
    "keys list": (0, r"^no API keys yet; create one with `retain keys create"),
    "users create": (0, r"^user 'ann' created with the admin role$"),
    "migrate": (0, r"^the store is up to date$"),
    "rescore": (0, r"^0 customers scored as of \d{4}-\d\d-\d\d with no model"),
    "import": (0, r"^customers: 1 row\(s\): 1 created, 0 updated, 0 unchanged"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_ON_SQLITE))
def test_a_command_works_first_on_a_fresh_embedded_store(
    name: str, first_on_sqlite: dict[str, Finished]
) -> None:
    done = first_on_sqlite[name]
    code, output = EXPECTED_ON_SQLITE[name]
    assert (done.returncode, done.err) == (code, ""), done
    assert re.search(output, done.out.strip()), done


def test_the_worker_works_first_and_runs_the_rescoring_it_scheduled(
    first_on_sqlite: dict[str, Finished],
) -> None:
    done = first_on_sqlite["worker"]
    assert (done.returncode, done.err.strip()) == (0, "worker stopped after 1 job(s)"), done


def test_revoking_first_finds_no_key_in_the_new_store(first_on_sqlite: dict[str, Finished]) -> None:
    done = first_on_sqlite["keys revoke"]
    assert done.returncode == 2, done
    assert done.err == "error [not_found]: no API key named 'shop' or with that prefix\n"


def test_users_create_without_a_terminal_or_password_says_so_in_one_line(
    first_on_sqlite: dict[str, Finished],
) -> None:
    done = first_on_sqlite["users create, no password"]
    assert done.returncode == 2, done
    assert done.err == (
        "error [config_error]: no terminal to ask for the password: set RETAIN_PASSWORD "
        "for this command\n"
    )


def test_a_key_created_first_is_listed_and_revoked(tmp_path: Path) -> None:
    environment = fresh_environment(tmp_path)
    created = run_retain(["keys", "create", "shop", "--scopes", "track,read"], environment)
    prefix = created.out.strip().splitlines()[-1].split("_")[1]
    listed = run_retain(["keys", "list"], environment).out.splitlines()
    assert listed[0].split() == [
        "name", "prefix", "scopes", "created", "expires", "last", "used", "revoked"
    ]  # fmt: skip
    assert re.fullmatch(
        rf"shop +{prefix} +read,track +\d{{4}}-\d\d-\d\d \d\d:\d\d UTC +never +never +-",
        listed[1],
    ), listed
    revoked = run_retain(["keys", "revoke", prefix], environment)
    assert re.fullmatch(
        rf"API key 'shop' \(prefix {prefix}\) is revoked since \d{{4}}-\d\d-\d\d \d\d:\d\d UTC\n",
        revoked.out,
    ), revoked


@pytest.mark.django_db
def test_keys_list_shows_when_a_key_was_last_used(capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    from retain.accounts.services import authenticate_api_key

    used, plain = make_api_key("read", name="reader")
    make_api_key("track", name="idle")
    authenticate_api_key(plain, scope="read", now=dt.datetime(2026, 3, 1, 9, 5, tzinfo=dt.UTC))
    assert main(["keys", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "2026-03-01 09:05 UTC  -" in rows["reader"] and used.prefix in rows["reader"]
    assert re.search(r" never +-$", rows["idle"]), rows


STORE_COMMANDS = ["keys create", "keys list", "keys revoke", "users create", "rescore",
                  "import", "worker"]  # fmt: skip


def test_every_store_command_on_an_unmigrated_postgresql_says_to_migrate(
    tmp_path: Path,
) -> None:
    """On a new, empty database: one line naming the store and the count of pending
    migrations, exit code 2, no traceback; after ``retain migrate`` the command works."""
    migrations = len(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)
    with empty_postgres_database(f"retain_first_{os.getpid()}") as url:
        environment = fresh_environment(tmp_path, DATABASE_URL=url, **PASSWORD)
        commands = {name: FIRST_COMMANDS[name][0] for name in STORE_COMMANDS}
        commands["serve"] = ["serve", "--port", "1"]  # refused before it binds the port
        started = {name: start_retain(arguments_in(arguments, tmp_path), environment)
                   for name, arguments in commands.items()}  # fmt: skip
        finished = {name: finish(child) for name, child in started.items()}
        where = url.replace("postgresql://", "").replace("postgres://", "")
        line = (f"error [config_error]: the store at postgresql://{where} needs `retain "
                f"migrate`: {migrations} migrations pending\n")  # fmt: skip
        for name, done in finished.items():
            assert (name, done.returncode, done.err) == (name, 2, line), done
        assert run_retain(["migrate"], environment).returncode == 0
        created = run_retain(["keys", "create", "shop", "--scopes", "track"], environment)
        assert created.returncode == 0, created
        assert created.out.strip().splitlines()[-1].startswith("rk_")


def test_an_unreachable_postgresql_is_one_line_at_once(tmp_path: Path) -> None:
    """Not the connection pool's 30 s of retries, each logged: one line, exit code 2."""
    from retain.server.background import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/retain"
    done = run_retain(["keys", "list"], fresh_environment(tmp_path, DATABASE_URL=url))
    assert done.returncode == 2, done
    assert done.err.startswith(f"error [config_error]: cannot reach the store at {url}: "), done
    assert "Connection refused" in done.err and done.err.count("\n") == 1, done
