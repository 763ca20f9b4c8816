"""The built-in journeys shipped in the package (``retain/journeys/builtin/*.yaml``): each is a
valid document named after its file, every email speaks the five languages with an
unsubscribe link, and every template parses and renders when optional parts are missing.

Rendering here uses plain Jinja in the mode messages are rendered in (sandboxed, strict
undefined, HTML autoescaped) with simple stand-ins for the ``money`` and ``date`` filters:
what is checked is the templates' own guards, not the messaging app's formatting.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib.resources import files
from typing import Any

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from retain.analytics.lifecycle import STAGES
from retain.journeys.documents import (
    LOCALES,
    DomainEventTrigger,
    EmailStep,
    JourneyDocument,
    read_document,
)

BUILTIN = files("retain.journeys") / "builtin"
EXPECTED_KEYS = {
    "welcome", "thank-you", "satisfaction-check", "win-back", "birthday",
    "first-order-anniversary", "milestones", "re-engagement", "new-feature-news",
    "onboarding", "big-spender-slipping",
}  # fmt: skip
UNSUBSCRIBE = "https://shop.example/email/unsubscribe/token-1"


def _files() -> dict[str, str]:
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in BUILTIN.iterdir()
        if entry.name.endswith(".yaml")
    }


def _documents() -> dict[str, JourneyDocument]:
    return {name: read_document(text, source=name) for name, text in _files().items()}


def _emails() -> list[tuple[str, str, EmailStep, bool]]:
    """(file, step id, email, marketing) for every email of every built-in journey."""
    return [
        (name, step.id, step.body, not document.transactional)
        for name, document in _documents().items()
        for step in document.steps
        if isinstance(step.body, EmailStep)
    ]


def _email_ids() -> list[str]:
    return [f"{name}:{step}" for name, step, _, _ in _emails()]


def test_the_builtin_folder_holds_exactly_the_eleven_journeys() -> None:
    assert {name.removesuffix(".yaml") for name in _files()} == EXPECTED_KEYS


@pytest.mark.parametrize("name", sorted(_files()))
def test_each_builtin_journey_reads_without_problems_and_is_keyed_by_its_file_name(
    name: str,
) -> None:
    document = read_document(_files()[name], source=name)

    assert document.key == name.removesuffix(".yaml")
    assert document.name.strip() and document.description.strip()


def test_marketing_journeys_have_a_topic_and_the_default_holdout() -> None:
    marketing = {
        name: (document.topic, document.holdout)
        for name, document in _documents().items()
        if not document.transactional
    }

    assert marketing, "the built-in journeys are marketing journeys"
    assert {name: topic for name, (topic, _) in marketing.items() if not topic} == {}
    assert {name: h for name, (_, h) in marketing.items() if h != pytest.approx(0.1)} == {}


def test_win_back_enters_on_a_lifecycle_stage_retain_records() -> None:
    trigger = _documents()["win-back.yaml"].trigger

    assert isinstance(trigger, DomainEventTrigger)
    assert trigger.domain_event == "lifecycle.changed"
    assert trigger.where["to"] in STAGES


@pytest.mark.parametrize(("name", "step", "email", "marketing"), _emails(), ids=_email_ids())
def test_every_email_has_the_five_locales_each_with_subject_html_and_text(
    name: str, step: str, email: EmailStep, marketing: bool
) -> None:
    contents = email.contents()

    assert set(contents) == set(LOCALES)
    for locale, content in contents.items():
        assert content.subject.strip(), f"{locale}: empty subject"
        assert content.html.strip(), f"{locale}: empty html"
        assert content.text is not None and content.text.strip(), f"{locale}: no text"


MARKETING_EMAILS = [(name, step, email) for name, step, email, marketing in _emails() if marketing]


@pytest.mark.parametrize(
    ("name", "step", "email"), MARKETING_EMAILS, ids=[f"{n}:{s}" for n, s, _ in MARKETING_EMAILS]
)
def test_every_marketing_email_links_to_unsubscribe_in_html_and_text(
    name: str, step: str, email: EmailStep
) -> None:
    for locale, content in email.contents().items():
        assert 'href="{{ unsubscribe_url }}"' in content.html, locale
        assert "{{ unsubscribe_url }}" in (content.text or ""), locale


@pytest.mark.parametrize(("name", "step", "email", "marketing"), _emails(), ids=_email_ids())
def test_every_template_parses(name: str, step: str, email: EmailStep, marketing: bool) -> None:
    environment = jinja2.Environment()
    for locale, content in email.contents().items():
        for part in ("subject", "html", "text"):
            source = getattr(content, part)
            try:
                environment.parse(source)
            except jinja2.TemplateSyntaxError as error:
                pytest.fail(f"{name} {step} {locale}.{part}:{error.lineno}: {error.message}")


# --- rendering with and without the optional parts ---------------------------------------


def _environment(*, html: bool) -> SandboxedEnvironment:
    environment = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=html)
    environment.filters["money"] = lambda amount, currency=None: f"{amount} {currency}"
    environment.filters["date"] = lambda value, format="medium": value.isoformat()
    return environment


def _render(email: EmailStep, locale: str, context: dict[str, Any]) -> dict[str, str]:
    content = email.contents()[locale]
    return {
        "subject": _environment(html=False).from_string(content.subject).render(context),
        "html": _environment(html=True).from_string(content.html).render(context),
        "text": _environment(html=False).from_string(content.text or "").render(context),
    }


def _context(
    *,
    first_name: str | None = None,
    order: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    preferences_url: str | None = None,
) -> dict[str, Any]:
    customer = dict.fromkeys(
        ("external_id", "email", "name", "first_name", "traits", "acquisition_channel",
         "segment", "signed_up_at", "birthday"),
    )  # fmt: skip
    customer.update(external_id="C-1", email="c1@example.com", traits={}, first_name=first_name)
    return {
        "customer": customer,
        "scores": None,
        "event": {
            "name": "Order Completed",
            "properties": properties or {},
            "occurred_at": dt.datetime(2024, 3, 9, 14, 5, tzinfo=dt.UTC),
        },
        "order": order,
        "journey": {"key": "k", "name": "Journey"},
        "shop": {"name": "Example Shop", "url": "https://shop.example"},
        "unsubscribe_url": UNSUBSCRIBE,
        "preferences_url": preferences_url,
    }


@pytest.mark.parametrize(("name", "step", "email", "marketing"), _emails(), ids=_email_ids())
def test_every_email_renders_for_a_customer_with_no_name_order_or_scores(
    name: str, step: str, email: EmailStep, marketing: bool
) -> None:
    for locale in LOCALES:
        rendered = _render(email, locale, _context())

        for part, output in rendered.items():
            assert "None" not in output, f"{locale}.{part} prints a missing value"
        assert f'href="{UNSUBSCRIBE}"' in rendered["html"], locale
        assert "Example Shop" in rendered["html"] + rendered["subject"], locale


@pytest.mark.parametrize(("name", "step", "email", "marketing"), _emails(), ids=_email_ids())
def test_every_email_renders_for_a_customer_with_everything_known(
    name: str, step: str, email: EmailStep, marketing: bool
) -> None:
    order = {"id": "A-1042", "total": Decimal("86.50"), "currency": "EUR",
             "placed_at": dt.datetime(2024, 3, 9, 14, 5, tzinfo=dt.UTC)}  # fmt: skip
    preferences = "https://shop.example/email/preferences/token-1"
    context = _context(
        first_name="Lan", order=order, properties={"days": 365}, preferences_url=preferences
    )
    for locale in LOCALES:
        rendered = _render(email, locale, context)

        assert f'href="{preferences}"' in rendered["html"], locale
        if locale != "el":  # Greek greets without the name: it would need the vocative case
            assert "Lan" in rendered["html"], locale
        assert "None" not in rendered["html"] + rendered["text"] + rendered["subject"]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_thank_you_names_the_order_and_its_total_when_known(locale: str) -> None:
    (email,) = [email for name, _, email, _ in _emails() if name == "thank-you.yaml"]
    order = {"id": "A-1042", "total": Decimal("86.50"), "currency": "EUR", "placed_at": None}

    known = _render(email, locale, _context(order=order))
    unknown = _render(email, locale, _context())

    for part in ("html", "text"):
        assert "A-1042" in known[part] and "86.50 EUR" in known[part]
        assert "A-1042" not in unknown[part] and "EUR" not in unknown[part]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_milestone_heading_names_the_milestone_from_the_entry_days(locale: str) -> None:
    (email,) = [email for name, _, email, _ in _emails() if name == "milestones.yaml"]

    def heading(properties: dict[str, Any]) -> str:
        return _render(email, locale, _context(properties=properties))["html"].split("</h1>")[0]

    headings = {days: heading({"days": days}) for days in (30, 90, 180, 365, 1825)}

    assert len(set(headings.values())) == 5, "each milestone has its own heading"
    assert "45" in heading({"days": 45})
    assert heading({}) not in headings.values()
