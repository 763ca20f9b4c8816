"""Where the store lives: the workspace folder, the database URL, the secret key.

The embedded default needs nothing: SQLite in WAL mode in ``RETAIN_HOME``
(``./retain-data``). Production sets ``DATABASE_URL=postgres://user@host:5432/name``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from retain.errors import ConfigError

#: How long a SQLite connection waits for the write lock before "database is locked" (a door
#: may wait less for its own writes: retain.ingest.lock_wait).
SQLITE_BUSY_MS = 10_000
# WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock at BEGIN, so
# two writers queue on busy_timeout instead of failing halfway through a transaction.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    f"PRAGMA busy_timeout={SQLITE_BUSY_MS};"
    "PRAGMA foreign_keys=ON;"
)

#: Connections each process may hold open to PostgreSQL (``RETAIN_DB_POOL_SIZE``).
POOL_SIZE = int(os.environ.get("RETAIN_DB_POOL_SIZE", "8"))


#: The workspace holds customers' data and the secret key: only its owner may read it.
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def workspace() -> Path:
    """The workspace folder (``RETAIN_HOME``, default ``./retain-data``), created if missing,
    for its owner only (0700)."""
    home = Path(os.environ.get("RETAIN_HOME", "retain-data")).resolve()
    home.parent.mkdir(parents=True, exist_ok=True)
    try:
        home.mkdir(mode=FOLDER_MODE)
    except FileExistsError:
        pass
    else:
        home.chmod(FOLDER_MODE)  # mkdir's mode is narrowed by the umask, never widened
    return home


def create_private_file(path: Path, content: bytes = b"") -> bool:
    """Create ``path`` with ``content``, readable by its owner only (0600) from its first
    moment; whether this call created it (``False``: it existed, left as it is).

    The content goes to a private temporary file first, then is linked to ``path``, which
    fails if the name is taken: another process never sees a half-written file.
    """
    if path.exists():
        return False
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def database(url: str | None, home: Path) -> dict[str, Any]:
    """Django's ``DATABASES['default']`` for ``url``, or the embedded SQLite file in ``home``."""
    if not url:
        return sqlite(home / "retain.sqlite3")
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme in ("sqlite", "sqlite3"):
        path = unquote(parts.path)
        return sqlite(Path(path[1:] if path.startswith("//") else path or home / "retain.sqlite3"))
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "retain",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # A pool per process: a request borrows a connection instead of opening one
            # (about 10 ms each on a busy machine), and returns it at its end.
            "OPTIONS": {"pool": {"min_size": 1, "max_size": POOL_SIZE, "timeout": 30}, **options},
            "CONN_MAX_AGE": 0,
        }
    raise ConfigError(
        f"DATABASE_URL: unknown scheme {parts.scheme!r}; use postgres://... or sqlite:///path"
    )


def url_of(settings: dict[str, Any]) -> str:
    """The ``DATABASE_URL`` of a connection's settings (:func:`database`'s inverse), for a
    child process to open the same store: a SQLite file's path, or PostgreSQL's address with
    its credentials and options (the pool's aside: each process keeps its own)."""
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    user = quote(settings.get("USER") or "", safe="")
    password = quote(settings.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings.get("HOST") or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    options = {k: str(v) for k, v in settings.get("OPTIONS", {}).items() if k != "pool"}
    query = f"?{urlencode(options)}" if options else ""
    return f"postgresql://{credentials}{host}{port}/{quote(settings['NAME'], safe='')}{query}"


def sqlite(path: Path) -> dict[str, Any]:
    """The settings of the SQLite file at ``path``, created empty for its owner only (0600)
    if missing: SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""
    if path.parent.is_dir():
        create_private_file(path)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {"init_command": SQLITE_PRAGMAS, "transaction_mode": "IMMEDIATE"},
        # A file, not memory, so tests see WAL and a server or worker process can share it.
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }


def secret_key(home: Path) -> str:
    """``RETAIN_SECRET_KEY``, else one generated once and kept in the workspace."""
    if key := os.environ.get("RETAIN_SECRET_KEY"):
        return key
    path = home / "secret_key"
    create_private_file(path, secrets.token_urlsafe(50).encode())
    return path.read_text(encoding="utf-8").strip()


def unshared_key_warning(url: str | None, key: str | None) -> str | None:
    """What to warn of when servers on one PostgreSQL database each keep their own key.

    Without ``RETAIN_SECRET_KEY`` each workspace generates its own secret key, so two servers
    on one database sign sessions and CSRF tokens differently: a user signed in through one is
    a stranger to the other (a load balancer would sign people out at random).
    """
    if key or not url or urlsplit(url).scheme not in ("postgres", "postgresql"):
        return None
    return (
        "RETAIN_SECRET_KEY is not set: this server signs sessions with the key of its own "
        "workspace, so other servers on this PostgreSQL database do not accept its sessions; "
        "give every server the same RETAIN_SECRET_KEY"
    )
