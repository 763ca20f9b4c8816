"""What the store's CLI commands do, as plain functions (``retain serve``, ``worker``, ...)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from retain.server import setup

if TYPE_CHECKING:
    from retain.customers.rescoring import RescoreSummary
    from retain.ingest.imports import ImportResult
    from retain.io import FileOptions


def migrate_store() -> None:
    """Bring the store's tables up to date (idempotent)."""
    setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def is_embedded() -> bool:
    setup()
    from django.db import connection

    return connection.vendor == "sqlite"


def ready_store() -> None:
    """Django set up, and the embedded store migrated (PostgreSQL is migrated on purpose,
    with ``retain migrate``)."""
    if is_embedded():
        migrate_store()


def import_into_store(
    kind: str, path: str, *, options: FileOptions | None = None, allow_moves: bool = False
) -> ImportResult:
    """``retain import KIND FILE``: check the whole file, then load it in one transaction."""
    ready_store()
    from retain.ingest.imports import import_file

    return import_file(kind, path, options=options, allow_moves=allow_moves)


def serve(*, host: str, port: int, workers: int) -> None:
    """Run the ASGI app under uvicorn; the embedded store is migrated first."""
    import uvicorn

    ready_store()
    uvicorn.run(
        "retain.server.asgi:application",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )


def create_key(name: str, scopes: Iterable[str]) -> str:
    """A new API key's plain text (shown once)."""
    setup()
    from django.db import transaction

    from retain.accounts.services import create_api_key

    with transaction.atomic():
        _, plain = create_api_key(name, scopes=scopes)
    return plain


def create_store_user(username: str, *, password: str, role: str) -> None:
    """A user of the store (the embedded store is migrated first)."""
    ready_store()
    from django.db import transaction

    from retain.accounts.services import create_user

    with transaction.atomic():
        create_user(username, password=password, role=role)


def rescore_store(*, as_of: dt.date | None = None) -> RescoreSummary:
    """Rescore every customer now (the embedded store is migrated first)."""
    ready_store()
    from django.db import transaction

    from retain.customers.rescoring import rescore_customers

    with transaction.atomic():
        return rescore_customers(as_of=as_of)


def work(*, max_jobs: int | None = None) -> int:
    setup()
    from retain.worker.loop import run_worker

    ready_store()
    from retain.customers.tasks import ensure_rescoring_scheduled

    ensure_rescoring_scheduled()
    return run_worker(max_jobs=max_jobs)
