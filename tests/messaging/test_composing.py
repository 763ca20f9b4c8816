"""Composing a stored message into the email on the wire (no server needed)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re

import pytest

from retain.errors import ConfigError
from retain.messaging.composing import (
    ComposeOptions,
    compose,
    compose_bytes,
    message_id_for,
    recipient,
    unsubscribe_url,
)
from retain.messaging.models import Message
from retain.messaging.tokens import read_click_token, read_open_token, read_unsubscribe_token
from tests.messaging.builders import HTML, TEXT
from tests.messaging.conftest import PUBLIC_URL

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC)


def _message(**overrides) -> Message:
    fields = {
        "pk": 41, "idempotency_key": "journey:welcome:v1:step2:enrolment-7",
        "to_address": "ann@example.com", "topic": "newsletter", "transactional": False,
        "subject": "Welcome", "html": HTML, "text": TEXT, "attempts": 1,
    }  # fmt: skip
    fields.update(overrides)
    return Message(**fields)


def _wire(message: Message, options: ComposeOptions):
    content = compose_bytes(message, options=options, now=MOMENT)
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert parsed.defects == []
    assert str(parsed) == str(compose(message, options=options, now=MOMENT))
    return content, parsed


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_the_message_id_comes_from_the_key_alone(options) -> None:
    expected = message_id_for("journey:welcome:v1:step2:enrolment-7", "shop.example")
    assert re.fullmatch(r"<[0-9a-f]{32}@shop\.example>", expected)
    assert _wire(_message(), options)[1]["Message-ID"] == expected
    assert _wire(_message(subject="Welcome again", pk=9), options)[1]["Message-ID"] == expected
    other = _message(idempotency_key="journey:welcome:v1:step2:enrolment-8")
    assert _wire(other, options)[1]["Message-ID"] != expected


def test_composing_the_same_row_twice_gives_the_same_bytes(options) -> None:
    """A re-send after a crash: the same id, links and boundary (the Date is the send's)."""
    assert _wire(_message(), options)[0] == _wire(_message(), options)[0]


def test_css_is_inlined_and_style_tags_dropped(options) -> None:
    _, parsed = _wire(_message(), options)
    html = parsed.get_body(("html",)).get_content()
    assert '<p class="lead" style="color: #224466;">' in html
    assert "<style>" not in html


def test_media_queries_stay_in_a_style_tag(options) -> None:
    page = (
        "<html><head><style>h1 { color: red } @media (max-width: 600px) { h1 { font-size: 20px } }"
        "</style></head><body><h1>Hi</h1></body></html>"
    )
    html = _wire(_message(html=page), options)[1].get_body(("html",)).get_content()
    assert '<h1 style="color: red;">' in html and "@media (max-width: 600px)" in html


def test_no_stylesheet_is_fetched_from_the_network(options) -> None:
    page = (
        '<html><head><link rel="stylesheet" href="https://cdn.invalid/x.css"></head>'
        "<body><p>Hi</p></body></html>"
    )
    _, parsed = _wire(_message(html=page), options)
    assert "<p>Hi</p>" in parsed.get_body(("html",)).get_content()


def test_every_web_link_goes_through_a_signed_redirect_to_its_own_url(options) -> None:
    page = (
        '<p><a href="https://shop.example/a?x=1&amp;y=2">a</a>'
        '<a href=" HTTP://Shop.example/b ">b</a><a href="#top">top</a>'
        '<a href="tel:+301234">call</a><area href="https://shop.example/map"></p>'
    )
    _, parsed = _wire(_message(html=page), options)
    links = _links(parsed.get_body(("html",)).get_content())
    tracked = [link for link in links if link.startswith(f"{PUBLIC_URL}/m/click/")]
    assert [read_click_token(link.rsplit("/", 1)[1]) for link in tracked] == [
        (41, "https://shop.example/a?x=1&y=2"),
        (41, "HTTP://Shop.example/b"),
        (41, "https://shop.example/map"),
    ]
    assert "#top" in links and "tel:+301234" in links


def test_the_unsubscribe_placeholder_becomes_the_signed_link(options) -> None:
    message = _message()
    _, parsed = _wire(message, options)
    link = unsubscribe_url(message, options)
    assert parsed["List-Unsubscribe"] == f"<{link}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {link}" in parsed.get_body(("plain",)).get_content()
    assert link in _links(parsed.get_body(("html",)).get_content())  # not turned into a click
    token = read_unsubscribe_token(link.rsplit("/", 1)[1])
    assert (token.message_id, token.address, token.topic) == (41, "ann@example.com", "newsletter")


def test_a_long_unsubscribe_link_stays_one_line(options) -> None:
    long = _message(to_address=f"{'a' * 60}@{'b' * 60}.example", topic="t" * 90)
    content, _ = _wire(long, options)
    [line] = [raw for raw in content.split(b"\r\n") if raw.startswith(b"List-Unsubscribe:")]
    assert line.startswith(b"List-Unsubscribe: <https://") and line.endswith(b">")


def test_a_transactional_message_has_no_unsubscribe(options) -> None:
    _, parsed = _wire(_message(transactional=True, topic=""), options)
    assert "List-Unsubscribe" not in parsed


def test_the_open_pixel_is_off_unless_asked(options) -> None:
    _, parsed = _wire(_message(), options)
    assert "/m/open/" not in parsed.get_body(("html",)).get_content()
    tracking = ComposeOptions(sender=options.sender, public_url=PUBLIC_URL, open_tracking=True)
    _, parsed = _wire(_message(), tracking)
    html = parsed.get_body(("html",)).get_content()
    [src] = re.findall(r'<img src="([^"]*)" width="1" height="1" alt="">', html)
    assert read_open_token(src.rsplit("/", 1)[1]) == 41


def test_a_text_only_message_is_a_single_part(options) -> None:
    _, parsed = _wire(_message(html=""), options)
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().startswith("Hello Ann,")


def test_an_html_only_message_is_a_single_part(options) -> None:
    _, parsed = _wire(_message(text=""), options)
    assert parsed.get_content_type() == "text/html"


def test_the_wire_form_is_plain_mime_with_crlf_lines_under_78_characters(options) -> None:
    content, parsed = _wire(_message(subject="Welcome " * 30), options)
    lines = content.split(b"\r\n")
    assert b"\n" not in content.replace(b"\r\n", b"")
    assert all(len(line) <= 78 for line in lines if not line.startswith(b"List-Unsubscribe:"))
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Subject"] == "Welcome " * 30  # folded on the wire, whole when read


def test_headers_in_other_scripts_are_encoded(options) -> None:
    named = ComposeOptions(sender="Ρετέιν Shop <news@shop.example>", public_url=PUBLIC_URL)
    content, parsed = _wire(_message(subject="Καλώς ήρθατε — ยินดีต้อนรับ " * 3), named)
    assert content.isascii()
    assert parsed["Subject"] == "Καλώς ήρθατε — ยินดีต้อนรับ " * 3
    assert parsed["From"].addresses[0].display_name == "Ρετέιν Shop"


def test_the_locale_is_the_content_language(options) -> None:
    assert _wire(_message(locale="pt_BR"), options)[1]["Content-Language"] == "pt-BR"


def test_the_public_url_must_be_a_web_address(settings) -> None:
    settings.RETAIN_EMAIL_FROM = "Shop <news@shop.example>"
    settings.RETAIN_PUBLIC_URL = "retain.shop.example"
    with pytest.raises(ConfigError, match=r"RETAIN_PUBLIC_URL: 'retain\.shop\.example'"):
        ComposeOptions.from_settings()
    settings.RETAIN_PUBLIC_URL = "https://retain.shop.example/"
    assert ComposeOptions.from_settings().public_url == "https://retain.shop.example"


def test_an_internationalised_domain_is_sent_in_its_ascii_form(options) -> None:
    assert recipient("ann@bücher.example") == "ann@xn--bcher-kva.example"
    _, parsed = _wire(_message(to_address="ann@bücher.example"), options)
    assert parsed["To"] == "ann@xn--bcher-kva.example"
