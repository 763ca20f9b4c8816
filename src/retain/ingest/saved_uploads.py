"""Uploaded files kept on disk in the workspace for the import's child process to read, and,
on the console, between its "Check" and its "Import" (the same file, not a second upload).

Each file is ``RETAIN_HOME/uploads/<id>.upload``, readable by its owner only, named by a
random id (never by the sender's file name, which is kept apart as a label: it tells CSV from
Parquet and names the file in messages). A console upload is referred to by a signed token
(:func:`upload_token`) that names its id, its sender and how to read it; files older than
:data:`KEEP_SECONDS` are removed whenever another upload is saved.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing

from retain.errors import NotFound, PermissionDenied
from retain.io import FileOptions
from retain.store_config import FILE_MODE, FOLDER_MODE

#: How long a checked upload waits for its "Import" (its token's lifetime too).
KEEP_SECONDS = 24 * 3600
_SALT = "retain.ingest.saved_upload"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SavedUpload:
    """An upload on disk: ``name`` as its sender gave it, ``path`` where it is kept."""

    id: str
    name: str
    path: Path


@dataclass(frozen=True)
class PendingImport:
    """What a console "Check" hands to its "Import": the saved file, its kind, how to read
    it and whether orders may move, as the user asked when checking."""

    upload: SavedUpload
    kind: str
    options: FileOptions
    allow_moves: bool
    user_id: int


def _folder() -> Path:
    folder = Path(settings.HOME) / "uploads"
    folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
    return folder


def _path_of(upload_id: str) -> Path:
    if not upload_id.isalnum():  # the id is hex: never a path of another place
        raise NotFound("no such upload")
    return _folder() / f"{upload_id}.upload"


def save_upload(chunks: Iterable[bytes], *, name: str) -> SavedUpload:
    """Write an upload's bytes to a new file of the workspace (after removing stale ones)."""
    _remove_stale()
    upload_id = secrets.token_hex(16)
    path = _path_of(upload_id)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return SavedUpload(id=upload_id, name=Path(name).name[:255], path=path)


def discard(upload: SavedUpload) -> None:
    upload.path.unlink(missing_ok=True)


@contextmanager
def saved_for_now(chunks: Iterable[bytes], *, name: str) -> Iterator[SavedUpload]:
    """An upload kept on disk for as long as the block runs (an API import)."""
    upload = save_upload(chunks, name=name)
    try:
        yield upload
    finally:
        discard(upload)


def _remove_stale() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in _folder().glob("*.upload"):
        with suppress(FileNotFoundError):  # another process removed it first
            if path.stat().st_mtime < cutoff:
                path.unlink()


def upload_token(pending: PendingImport) -> str:
    """A signed token that names a checked upload for its "Import" (nothing in it can be
    changed without the server's key)."""
    payload: dict[str, Any] = {
        "id": pending.upload.id, "name": pending.upload.name, "kind": pending.kind,
        "options": asdict(pending.options), "moves": pending.allow_moves,
        "user": pending.user_id,
    }  # fmt: skip
    return signing.dumps(payload, salt=_SALT, compress=True)


def pending_import(token: str, *, user_id: int) -> PendingImport:
    """The checked upload a token names, for the user who checked it.

    Raises
    ------
    NotFound
        The token is not one of ours, is older than :data:`KEEP_SECONDS`, or its file is gone
        (imported already, or removed as stale).
    PermissionDenied
        Another user checked it.
    """
    try:
        payload = signing.loads(token, salt=_SALT, max_age=KEEP_SECONDS)
    except signing.BadSignature:
        raise NotFound("this upload has expired or is unknown; upload the file again") from None
    if payload["user"] != user_id:
        raise PermissionDenied("another user checked this upload; upload the file yourself")
    path = _path_of(payload["id"])
    if not path.is_file():
        raise NotFound("this upload was imported already or has expired; upload the file again")
    return PendingImport(
        upload=SavedUpload(id=payload["id"], name=payload["name"], path=path),
        kind=payload["kind"],
        options=FileOptions(**payload["options"]),
        allow_moves=bool(payload["moves"]),
        user_id=user_id,
    )
