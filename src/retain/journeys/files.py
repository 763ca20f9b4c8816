"""Journey documents on disk: the files a user names (a file, or a folder of them) and the
built-in journeys shipped in ``retain/journeys/builtin/``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from retain.errors import DataError
from retain.journeys.documents import MAX_DOCUMENT_CHARS, DocumentProblem

#: The built-in journeys, applied by ``retain journeys apply --builtin``.
BUILTIN_FOLDER = Path(__file__).with_name("builtin")
#: The files of a folder that are journey documents.
SUFFIXES = (".yaml", ".yml", ".json")
#: The largest file read (UTF-8 takes up to 4 bytes a character).
MAX_FILE_BYTES = MAX_DOCUMENT_CHARS * 4


def read_journey_files(paths: Iterable[str | Path]) -> list[tuple[str, str]]:
    """``(source, text)`` of each document: a file as named, a folder's ``.yaml``, ``.yml``
    and ``.json`` files (not its subfolders) by name. A file that cannot be read as UTF-8
    text is a problem of its own; every problem is reported together
    (:class:`DocumentProblem`), a path that does not exist as a :class:`DataError`."""
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files += sorted(p for p in given.iterdir() if p.suffix in SUFFIXES and p.is_file())
        elif given.is_file():
            files.append(given)
        else:
            raise DataError(f"{given}: no such file or folder")
    read, problems = [], []
    for path in files:
        try:
            read.append((str(path), _text_of(path)))
        except DocumentProblem as error:
            problems.append(error.message)
    if problems:
        raise DocumentProblem("\n".join(problems), problems=problems)
    return read


def builtin_files() -> list[tuple[str, str]]:
    """The built-in journeys, each named ``builtin/<file>`` (none while the folder is not
    shipped)."""
    if not BUILTIN_FOLDER.is_dir():
        return []
    return [
        (f"builtin/{Path(source).name}", text)
        for source, text in read_journey_files([BUILTIN_FOLDER])
    ]


def _text_of(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DocumentProblem(f"{path}: {size:,} bytes, more than a journey may be")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DocumentProblem(
            f"{path}:{line}: not UTF-8 text (byte {error.start + 1} is 0x{data[error.start]:02x})"
        ) from None
