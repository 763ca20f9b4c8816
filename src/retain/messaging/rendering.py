"""Messages from templates: the content a journey's document holds, rendered for one
customer in their language, with their money and dates as they write them.

A journey's document holds each message's content, in one language or several::

    content:
      en: {subject: "We miss you, {{ customer.first_name }}", html: "<p>...</p>"}
      th: {subject: "...", html: "...", text: "..."}

or unlocalised, ``{subject: ..., html: ..., text: ...}``. Each variant needs a ``subject``
and an ``html`` or a ``text`` (or both); without ``text``, the plain-text part is read from
the HTML, links and all (:func:`text_from_html`).

**Which variant** (:func:`choose_variant`): for a customer in ``th-TH``, the ``th-TH``
variant; else ``th``; else another ``th-...`` one (the first given); else ``en``; else the
first variant given. A locale Babel does not know (or none) counts as ``en``. Money and dates
follow the words: a ``th-TH`` reader of the ``th`` variant gets ``th_TH`` formats, a Greek
reader of the English variant gets English formats. Unlocalised content is formatted in the
reader's locale.

**When** (:func:`check_content`): when a journey is applied, every variant is rendered
once against :func:`sample_context`, so a misspelt variable, a syntax error or a filter
given the wrong thing fails then, with the locale, the part and the template's line, rather
than at send time for each customer. At send time :func:`render_message` renders the chosen
variant against :func:`customer_context`, which has the same shape as the sample.

**What a template may use** (:data:`CONTEXT_FIELDS`): ``customer`` (``external_id``,
``email``, ``name``, ``first_name``, ``traits``, ``acquisition_channel``, ``segment``,
``signed_up_at``, ``birthday``), ``scores`` (``p_alive``, ``clv_12m``, ``value_decile``,
``churn_risk``, ``rfm_segment``, ``lifecycle_stage``, ``next_order_date``,
``expected_purchases_90d``), ``event`` (``name``, ``properties``, ``occurred_at``: what
started the journey), ``order`` (``id``, ``total``, ``currency``, ``placed_at``,
``item_count``), ``journey`` (``key``, ``name``), ``shop`` (``name``, ``url``,
``currency``), ``unsubscribe_url`` and ``preferences_url``. A part the customer does not
have (no scores yet, no order) is empty: ``{% if order %}`` is false, so are
``order is defined`` and ``order is not none``, and reading ``order.total`` is an error
naming ``order``. A value the store does not have (a birthday
never given) prints as nothing. Filters, also callable as functions: ``money(currency)``
(the shop's currency without one), ``date(format="medium")``, ``datetime(format="medium")``
(in the time zone given to :func:`render_message`), ``number(digits=None)``,
``percent(digits=0)`` (of a fraction: ``scores.p_alive | percent``), and Jinja's own except
``safe``, ``tojson``, ``pprint`` and ``random``.

**The sandbox** (``_sandbox``): Jinja's sandbox (no ``__class__`` and the like), HTML
escaped (every value in a context comes from outside), and bounds on what one part may
write (1,000,000 characters), its loop steps and its work, so a template's mistake costs
one message an error, never the sender minutes of work or gigabytes of memory.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from retain.errors import ConfigError, DataError
from retain.messaging import _sandbox
from retain.messaging._contexts import (
    CONTEXT_FIELDS,
    customer_context,
    first_name_of,
    sample_context,
)
from retain.messaging._formats import FormatProblem
from retain.messaging._locales import (
    DEFAULT_LOCALE,
    LOCALES,
    message_locale,
    parse_locale,
    parse_or_default,
    tag_of,
)
from retain.messaging._plain_text import text_from_html
from retain.messaging._values import template_values

__all__ = [
    "CONTEXT_FIELDS",
    "DEFAULT_LOCALE",
    "LOCALES",
    "MAX_OUTPUT_CHARS",
    "PARTS",
    "RenderedMessage",
    "TemplateProblem",
    "Variant",
    "check_content",
    "choose_variant",
    "customer_context",
    "first_name_of",
    "message_locale",
    "render_message",
    "sample_context",
    "text_from_html",
]

PARTS = ("subject", "html", "text")
MAX_OUTPUT_CHARS = _sandbox.MAX_OUTPUT_CHARS
_LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\x85\u2028\u2029]+\s*")


class TemplateProblem(DataError):
    """A message's content that cannot be rendered: where (``th.subject``, the template's
    line), why, and the variable at fault when there is one.

    ``locale`` is the variant's key as written (``None`` for unlocalised content), ``part``
    one of :data:`PARTS`, ``line`` counts from 1 within that part's template (a journey adds
    the line its template starts on in the document), ``variable`` is a dotted name
    (``order``, ``customer.nickname``). :func:`check_content` finds every problem; the error
    describes the first and lists the rest in ``problems``.
    """

    code = "template_problem"

    def __init__(
        self,
        reason: str,
        *,
        locale: str | None = None,
        part: str | None = None,
        line: int | None = None,
        variable: str | None = None,
    ) -> None:
        place = ".".join(name for name in (locale, part) if name) or "content"
        where = f"{place}, line {line}" if line is not None else place
        super().__init__(
            f"{where}: {reason}",
            locale=locale,
            part=part,
            line=line,
            variable=variable,
            reason=reason,
        )
        self.reason = reason
        self.locale = locale
        self.part = part
        self.line = line
        self.variable = variable
        self.place = where
        self.problems: tuple[TemplateProblem, ...] = (self,)

    @classmethod
    def all_of(cls, problems: list[TemplateProblem]) -> TemplateProblem:
        """One error for several: the first's details, the others named after it."""
        first = problems[0]
        reason = first.reason
        if len(problems) > 1:
            others = "; ".join(problem.message for problem in problems[1:4])
            more = f" and {len(problems) - 4} more" if len(problems) > 4 else ""
            reason = f"{reason} (and {len(problems) - 1} more problem(s): {others}{more})"
        combined = cls(
            reason, locale=first.locale, part=first.part, line=first.line, variable=first.variable
        )
        combined.problems = tuple(problems)
        return combined


@dataclass(frozen=True)
class Variant:
    """One language's templates. ``key`` is as the content wrote it (``None`` for
    unlocalised content), ``locale`` the same as a BCP 47 tag (``th-TH``)."""

    key: str | None
    locale: str | None
    subject: str
    html: str | None
    text: str | None


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready to send. ``html`` is ``None`` for content with a text part only;
    ``text`` is always there (read from the HTML when the content has none). ``locale`` is
    the BCP 47 tag it was written and formatted in (for ``Content-Language``), ``variant``
    the content's key chosen (``None``: unlocalised)."""

    subject: str
    html: str | None
    text: str
    locale: str
    variant: str | None


# -- locales and variants ----------------------------------------------------------------


def _read_variant(key: str | None, parts: Any) -> Variant:
    name = key
    if not isinstance(parts, Mapping):
        raise TemplateProblem(
            f"expected subject, html and text, got {type(parts).__name__}", locale=name
        )
    unknown = [str(part) for part in parts if part not in PARTS]
    if unknown:
        raise TemplateProblem(
            f"unknown part(s) {', '.join(map(repr, unknown))}: a message has {', '.join(PARTS)}",
            locale=name,
        )
    for part in PARTS:
        value = parts.get(part)
        if value is not None and not isinstance(value, str):
            raise TemplateProblem(
                f"expected a template (text), got {type(value).__name__}", locale=name, part=part
            )
    if not (parts.get("subject") or "").strip():
        raise TemplateProblem("a message needs a subject", locale=name, part="subject")
    if not parts.get("html") and not parts.get("text"):
        raise TemplateProblem("a message needs an html or a text part (or both)", locale=name)
    locale = None
    if key is not None:
        parsed = parse_locale(key)
        if parsed is None or tag_of(parsed).lower() != key.strip().replace("_", "-").lower():
            raise TemplateProblem(
                f"{key!r} is not a locale: name variants like en, th, vi, el, id or th-TH"
            )
        locale = tag_of(parsed)
    return Variant(
        key=key,
        locale=locale,
        subject=parts["subject"],
        html=parts.get("html") or None,
        text=parts.get("text") or None,
    )


def _read_content(content: Any) -> list[Variant]:
    """The content's variants in the order given, refused with a clear error when it is
    neither one message nor a mapping of locales to messages."""
    if not isinstance(content, Mapping) or not content:
        raise TemplateProblem(
            "expected a message (subject, html, text) or messages by locale (en: ..., th: ...)"
        )
    if any(key in PARTS for key in content):
        return [_read_variant(None, content)]
    variants = []
    for key, parts in content.items():
        if not isinstance(key, str):
            raise TemplateProblem(f"{key!r} is not a locale: name variants like en or th")
        variants.append(_read_variant(key, parts))
    tags = [variant.locale for variant in variants]
    repeated = sorted({tag for tag in tags if tags.count(tag) > 1 and tag})
    if repeated:
        raise TemplateProblem(f"more than one variant for {', '.join(repeated)}")
    return variants


def choose_variant(content: Mapping[str, Any], locale: str | None) -> Variant:
    """The variant for a reader in ``locale`` (see the module's docstring for the rule).
    Raises :class:`TemplateProblem` for content that is not a message."""
    variants = _read_content(content)
    if variants[0].key is None:
        return variants[0]
    wanted = parse_or_default(locale)
    by_tag = {variant.locale: variant for variant in variants}
    same_language = [v for v in variants if parse_locale(v.key).language == wanted.language]
    return (
        by_tag.get(tag_of(wanted))
        or by_tag.get(wanted.language)
        or (same_language[0] if same_language else None)
        or by_tag.get(DEFAULT_LOCALE)
        or variants[0]
    )


def _formatting_locale(variant: Variant, locale: str | None) -> Locale:
    """The reader's own locale when the words are in their language, else the words'."""
    wanted = parse_or_default(locale)
    if variant.key is None:
        return wanted
    written = parse_locale(variant.key)
    return wanted if written.language == wanted.language else written


def _zone(time_zone: Any) -> dt.tzinfo:
    if isinstance(time_zone, dt.tzinfo):
        return time_zone
    if time_zone in ("UTC", "utc", "Etc/UTC"):
        return dt.UTC
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(
            f"unknown time zone {time_zone!r}: use a name like Asia/Bangkok or Europe/Athens"
        ) from None


# -- rendering ---------------------------------------------------------------------------


def _template_line(error: BaseException) -> int | None:
    """The template's line an error was raised on (Jinja rewrites the traceback so the
    template's frames carry its lines)."""
    line = getattr(error, "lineno", None)
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _sandbox.TEMPLATE_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _usable_filters() -> str:
    names = sorted(name for name in _sandbox.HTML_ENVIRONMENT.filters if not name.startswith("_"))
    return ", ".join(names)


def _why(error: BaseException, names: list[str]) -> tuple[str, str | None]:
    """What went wrong in words for the template's author, and the variable at fault."""
    variable = getattr(error, "retain_variable", None)
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, TemplateSyntaxError):
        reason = f"syntax error: {message}"
        if message.startswith(("No filter named", "No test named")):
            reason += f" (a message may use: {_usable_filters()})"
        return reason, None
    if isinstance(error, SecurityError):
        return f"not allowed: {message}", variable
    if isinstance(error, UndefinedError):
        if message.endswith("is undefined"):
            message += f" (a template may use {', '.join(sorted(names))})"
        return message, variable
    if isinstance(error, RecursionError):
        return "the template calls itself without end (a macro that calls itself?)", None
    if isinstance(error, FormatProblem | _sandbox.LimitExceeded):
        return message, variable
    return f"{message} ({type(error).__name__})", variable


def _render_part(
    variant: Variant,
    part: str,
    values: dict[str, Any],
    state: _sandbox.RenderState,
) -> str:
    source = getattr(variant, part)
    try:
        template = _sandbox.compile_template(source, html=part == "html")
        return _sandbox.render_template(template, values, state)
    except Exception as error:
        reason, variable = _why(error, list(values))
        raise TemplateProblem(
            reason,
            locale=variant.key,
            part=part,
            line=_template_line(error),
            variable=variable,
        ) from error


def _subject_line(subject: str, variant: Variant) -> str:
    """A subject is one line: line breaks (a header injection, or a template laid out over
    lines) become single spaces."""
    line = _LINE_BREAKS.sub(" ", subject).strip()
    if not line:
        raise TemplateProblem("the subject is empty once rendered", locale=variant.key,
                              part="subject")  # fmt: skip
    return line


def _shop_currency(context: Mapping[str, Any]) -> str | None:
    shop = context.get("shop")
    currency = shop.get("currency") if isinstance(shop, Mapping) else None
    return currency if isinstance(currency, str) and currency else None


def _render_variant(
    variant: Variant,
    context: Mapping[str, Any],
    *,
    locale: Locale,
    zone: dt.tzinfo,
    problems: list[TemplateProblem] | None = None,
) -> RenderedMessage | None:
    """The variant rendered; a problem is raised, or added to ``problems`` (all parts are
    then rendered, and ``None`` returned if any failed)."""
    values = template_values(context)
    currency = _shop_currency(context)
    rendered: dict[str, str] = {}
    found = []
    for part in PARTS:
        if getattr(variant, part) is None:
            continue
        state = _sandbox.RenderState(locale=locale, zone=zone, currency=currency)
        try:
            rendered[part] = _render_part(variant, part, values, state)
            if part == "subject":
                rendered[part] = _subject_line(rendered[part], variant)
        except TemplateProblem as problem:
            if problems is None:
                raise
            found.append(problem)
    if found:
        problems.extend(found)  # type: ignore[union-attr]
        return None
    html = rendered.get("html")
    return RenderedMessage(
        subject=rendered["subject"],
        html=html,
        text=rendered["text"] if "text" in rendered else text_from_html(html or ""),
        locale=tag_of(locale),
        variant=variant.key,
    )


def render_message(
    content: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    locale: str | None,
    time_zone: str | dt.tzinfo = "UTC",
) -> RenderedMessage:
    """The message for one reader: the variant for ``locale``, rendered against
    ``context`` (from :func:`customer_context`), times shown in ``time_zone`` (the shop's).

    Raises :class:`TemplateProblem` (the part, the line, the reason) for content that does
    not render for this customer, and ``ConfigError`` for an unknown time zone."""
    variant = choose_variant(content, locale)
    message = _render_variant(
        variant, context, locale=_formatting_locale(variant, locale), zone=_zone(time_zone)
    )
    assert message is not None  # problems raise when none are collected
    return message


def check_content(
    content: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    *,
    time_zone: str | dt.tzinfo = "UTC",
) -> None:
    """Render every variant of ``content`` once, against ``context`` or, by default, the
    sample customer in the variant's own language (:func:`sample_context`).

    Raises one :class:`TemplateProblem` describing the first problem and naming the others
    (all in its ``problems``), so an author fixes a document in one pass."""
    variants = _read_content(content)
    zone = _zone(time_zone)
    problems: list[TemplateProblem] = []
    for variant in variants:
        tag = variant.locale or DEFAULT_LOCALE
        sample = context if context is not None else sample_context(tag)
        locale = parse_or_default(tag)
        _render_variant(variant, sample, locale=locale, zone=zone, problems=problems)
    if problems:
        raise TemplateProblem.all_of(problems)
