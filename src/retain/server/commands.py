"""What the store's CLI commands do, as plain functions (``retain serve``, ``worker``, ...)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import TYPE_CHECKING

from retain.errors import ConfigError, DataError
from retain.server import setup

if TYPE_CHECKING:
    from retain.accounts.models import ApiKey
    from retain.customers.rescoring import RescoreSummary
    from retain.ingest.imports import ImportResult
    from retain.io import FileOptions
    from retain.journeys.services import ApplyOutcome as JourneyApplyOutcome
    from retain.journeys.services import StatusChange as JourneyStatusChange
    from retain.journeys.simulation import Simulation


def migrate_store() -> None:
    """Bring the store's tables up to date (idempotent)."""
    setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def is_embedded() -> bool:
    setup()
    from django.db import connection

    return connection.vendor == "sqlite"


def store_location() -> str:
    """Where the store is, for messages: the SQLite file, or the PostgreSQL URL without its
    password."""
    setup()
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(settings["NAME"])
    user = f"{settings['USER']}@" if settings["USER"] else ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgresql://{user}{settings['HOST'] or 'localhost'}{port}/{settings['NAME']}"


def pending_migrations() -> list[str]:
    """The migrations the store lacks, as ``app.name``, in the order they would run."""
    setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def ready_store() -> None:
    """Make the store usable by a command; every store command calls this first.

    The embedded SQLite store is created and migrated here, so any command may be the first
    on a fresh workspace. PostgreSQL is migrated on purpose, with ``retain migrate`` (a shared
    database's schema changes when its operator says so): a store that lacks migrations is a
    :class:`ConfigError` saying so in one line.
    """
    from django.db import OperationalError

    try:
        if is_embedded():
            migrate_store()
            return
        _reach_postgres()
        pending = pending_migrations()
    except OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"cannot open the store at {store_location()}: {reason}") from None
    if pending:
        count = f"{len(pending)} migration{'s' if len(pending) != 1 else ''}"
        raise ConfigError(
            f"the store at {store_location()} needs `retain migrate`: {count} pending",
            pending=pending,
        )


def _reach_postgres() -> None:
    """One plain connection first, so an unreachable server is one line within seconds
    (the connection pool would retry, and log each try, for its 30 s timeout)."""
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    options = {name: value for name, value in settings["OPTIONS"].items() if name != "pool"}
    given = {"dbname": settings["NAME"], "user": settings["USER"],
             "password": settings["PASSWORD"], "host": settings["HOST"],
             "port": settings["PORT"]}  # fmt: skip
    try:
        psycopg.connect(
            **{name: value for name, value in given.items() if value},
            **{"connect_timeout": 5, **options},
        ).close()
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ConfigError(f"cannot reach the store at {store_location()}: {reason}") from None


def import_into_store(
    kind: str, path: str, *, options: FileOptions | None = None, allow_moves: bool = False
) -> ImportResult:
    """``retain import KIND FILE``: check the whole file, then load it in one transaction;
    the import is kept in the history, with the system account's name."""
    ready_store()
    from retain.ingest.import_runs import import_file

    return import_file(kind, path, options=options, allow_moves=allow_moves)


def serve(
    *,
    host: str,
    port: int,
    workers: int,
    worker: bool = True,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run the ASGI app under uvicorn on a ready store.

    On the embedded store the job worker runs in a thread of this process too (unless
    ``worker`` is false), so one command runs everything; with ``workers > 1`` that thread
    runs once, in uvicorn's parent process. On PostgreSQL jobs run in ``retain worker``
    processes of their own (docs/store.md says why). ``announce`` is told where jobs run
    once the store is ready, before the server starts.
    """
    import uvicorn

    ready_store()
    from retain.worker.thread import in_process_worker

    embedded = is_embedded()
    beside = worker and embedded
    if beside:
        schedule_jobs()
    if announce is not None:
        if beside:
            announce("jobs run in this process")
        elif embedded:
            announce("jobs wait for `retain worker`")
        else:
            announce("jobs run in `retain worker` processes (PostgreSQL)")
    with in_process_worker() if beside else nullcontext():
        uvicorn.run(
            "retain.server.asgi:application",
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            lifespan="off",
            access_log=False,
            # X-Forwarded-* are believed by retain.server.security, from RETAIN_TRUSTED_PROXIES
            # only; uvicorn's own handling would trust any local process.
            proxy_headers=False,
        )


def schedule_jobs() -> None:
    """What a worker does as it starts: make sure the rescoring is scheduled, and the
    journeys' runner waits while any journey is active."""
    from django.db import transaction

    from retain.customers.tasks import ensure_rescoring_scheduled
    from retain.journeys.tasks import ensure_running

    with transaction.atomic():
        ensure_rescoring_scheduled()
        ensure_running()


def create_key(
    name: str, scopes: Iterable[str], *, expires_in_days: int | None = None
) -> tuple[ApiKey, str]:
    """A new API key and its plain text (shown once); it expires after ``expires_in_days``
    days, or lives until revoked."""
    ready_store()
    from django.db import transaction

    from retain.accounts.services import create_api_key, expiry_after

    expires_at = expiry_after(expires_in_days) if expires_in_days is not None else None
    with transaction.atomic():
        return create_api_key(name, scopes=scopes, expires_at=expires_at)


def list_keys() -> list[ApiKey]:
    """Every API key, live and revoked, oldest first."""
    ready_store()
    from retain.accounts.services import list_api_keys

    return list_api_keys()


def revoke_key(name_or_prefix: str) -> ApiKey:
    """Revoke one API key by its prefix or its name; the key, with its ``revoked_at``."""
    ready_store()
    from django.db import transaction

    from retain.accounts.services import revoke_api_key

    with transaction.atomic():
        return revoke_api_key(name_or_prefix)


def create_store_user(username: str, *, password: str, role: str) -> None:
    """A user of the store (the embedded store is migrated first)."""
    ready_store()
    from django.db import transaction

    from retain.accounts.services import create_user

    with transaction.atomic():
        create_user(username, password=password, role=role)


def rescore_store(*, as_of: dt.date | None = None) -> RescoreSummary:
    """Rescore every customer now (the embedded store is migrated first), in one transaction.
    A refused run (:class:`DataError`: too short a history) writes nothing but its record,
    which is committed before the error goes on to the caller, so ``/healthz`` shows it."""
    ready_store()
    from django.db import transaction

    from retain.customers.rescoring import rescore_customers

    with transaction.atomic():
        try:
            return rescore_customers(as_of=as_of)
        except DataError as error:
            refused = error
    raise refused


def work(*, max_jobs: int | None = None) -> int:
    """``retain worker``: schedule the rescoring, then run jobs until a signal stops it."""
    ready_store()
    from retain.worker.loop import run_worker

    schedule_jobs()
    return run_worker(max_jobs=max_jobs)


def apply_journey_files(
    paths: Iterable[str], *, builtin: bool = False
) -> list[JourneyApplyOutcome]:
    """``retain journeys apply``: every document of the files and folders (and the built-in
    journeys), all or nothing, in one transaction."""
    ready_store()
    from django.db import transaction

    from retain.journeys.files import builtin_files, read_journey_files
    from retain.journeys.services import apply_many

    documents = (builtin_files() if builtin else []) + read_journey_files(paths)
    if builtin and not documents:
        raise DataError("no built-in journeys are shipped with this version of retain")
    with transaction.atomic():
        return apply_many(documents, applied_by="cli")


def change_journey_status(key: str, action: str) -> JourneyStatusChange:
    """``retain journeys pause|resume|archive KEY``."""
    ready_store()
    from django.db import transaction

    from retain.journeys import services

    change = {"pause": services.pause_journey, "resume": services.resume_journey,
              "archive": services.archive_journey}[action]  # fmt: skip
    with transaction.atomic():
        return change(key)


def simulate_journeys(
    *,
    start: dt.date,
    end: dt.date,
    journey: str | None = None,
    sample: int = 0,
    tick_hours: int = 1,
    progress: Callable[[dt.datetime], None] | None = None,
) -> Simulation:
    """``retain journeys simulate``: replay the days ``start`` to ``end`` (both included, in
    the shop's time zone) through the journeys, in one transaction that is rolled back
    whatever happens: nothing the replay wrote stays, and nothing is sent."""
    ready_store()
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db import transaction

    from retain.journeys.simulation import simulate

    zone = ZoneInfo(settings.RETAIN_TIME_ZONE)
    with transaction.atomic():
        try:
            return simulate(
                start=dt.datetime.combine(start, dt.time(), tzinfo=zone),
                end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
                journey=journey, sample=sample, tick=dt.timedelta(hours=tick_hours),
                progress=progress,
            )  # fmt: skip
        finally:
            transaction.set_rollback(True)  # what the replay wrote goes, whatever happened
