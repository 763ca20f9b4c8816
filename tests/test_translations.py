"""Every string marked for translation is translated into every language the console ships,
and the compiled catalogues are those of the sources (``make translations`` refreshes both)."""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "retain"
LANGUAGES = ("th", "vi", "el", "id")


def _catalog(path: Path):
    with path.open("rb") as source:
        return read_po(source)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The messages marked in the code today, extracted afresh into a copy of the package."""
    assert shutil.which("xgettext"), "GNU gettext is missing: make test installs it"
    copy = tmp_path_factory.mktemp("extract") / "retain"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "--no-location",
         *[f"-l{language}" for language in LANGUAGES]],
        cwd=copy, check=True, capture_output=True,
        env={"DJANGO_SETTINGS_MODULE": "retain.server.settings", "PATH": "/usr/bin:/bin",
             "RETAIN_HOME": str(copy.parent / "home"), "PYTHONPATH": str(PACKAGE.parent)},
    )  # fmt: skip
    return copy / "locale"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_translated(extracted: Path, language: str) -> None:
    extracted_po = _catalog(extracted / language / "LC_MESSAGES" / "django.po")
    wanted = {(m.context, m.id) for m in extracted_po if m.id}
    shipped = _catalog(PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po")
    have = {(m.context, m.id): m for m in shipped if m.id}
    assert sorted(map(str, wanted - have.keys())) == [], "run make translations, then translate"
    untranslated = [
        str(m.id) for m in have.values()
        if m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]  # fmt: skip
    assert untranslated == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_source(language: str) -> None:
    folder = PACKAGE / "locale" / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for message in _catalog(folder / "django.po"):
        if not message.id:
            continue
        context = message.context  # the same words in another sense ("import outcome")
        if isinstance(message.id, tuple):
            one = (catalogue.npgettext(context, *message.id, 1) if context
                   else catalogue.ngettext(*message.id, 1))  # fmt: skip
            assert one == message.string[0]
        else:
            got = (catalogue.pgettext(context, message.id) if context
                   else catalogue.gettext(message.id))  # fmt: skip
            assert got == message.string
