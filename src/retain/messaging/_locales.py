"""Locales as customers and authors write them (``th-TH``, ``th_TH``, ``TH``), read with
Babel; one Babel does not know is English, never a crash."""

from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError

#: The languages retain ships with; any locale Babel knows renders, unknown ones as English.
LOCALES = ("en", "th", "vi", "el", "id")
DEFAULT_LOCALE = "en"


def parse_locale(value: Any) -> Locale | None:
    """A Babel locale from ``th-TH``, ``th_TH`` or ``TH``; its language alone when Babel
    does not know the region; ``None`` when it knows neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    identifier = value.strip().replace("-", "_")
    for candidate in (identifier, identifier.split("_")[0]):
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return None


def tag_of(locale: Locale) -> str:
    """A Babel locale as a BCP 47 tag: ``th_TH`` -> ``th-TH``."""
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)


def message_locale(locale: str | None) -> str:
    """The BCP 47 tag retain renders for a customer's locale: ``th_th`` -> ``th-TH``;
    ``en`` for one Babel does not know."""
    parsed = parse_locale(locale)
    return tag_of(parsed) if parsed is not None else DEFAULT_LOCALE


def parse_or_default(value: Any) -> Locale:
    """:func:`parse_locale`, English when it finds nothing."""
    return parse_locale(value) or Locale.parse(DEFAULT_LOCALE)
