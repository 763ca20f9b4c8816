"""RETAIN_SMTP_URL and RETAIN_EMAIL_FROM: what they may say, and errors that name them."""

from __future__ import annotations

import pytest

from retain.errors import ConfigError
from retain.messaging.smtp import SmtpServer, configured_sender, configured_server, sender_from


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpServer("mail.example.com", 25)),
        ("smtp://mail.example.com:2525", SmtpServer("mail.example.com", 2525)),
        ("smtps://u:p@mail.example.com", SmtpServer("mail.example.com", 465, "u", "p", True)),
        (
            "smtp://apikey:p%40ss%2Fw%3Ard@smtp.example.com:587?starttls=1",
            SmtpServer("smtp.example.com", 587, "apikey", "p@ss/w:rd", starttls=True),
        ),
        ("SMTP://[::1]:25?timeout=5", SmtpServer("::1", 25, timeout=5.0)),
        (" smtp://u%20name@host:25 ", SmtpServer("host", 25, "u name")),
    ],
)
def test_a_good_url_is_read_with_its_parts_decoded(url, expected) -> None:
    assert SmtpServer.from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "RETAIN_SMTP_URL is not set"),
        ("user:secret@mail.example.com:25", "RETAIN_SMTP_URL: not a URL"),
        ("http://mail.example.com", "RETAIN_SMTP_URL: unknown scheme 'http'"),
        ("smtp://mail.example.com:port", "RETAIN_SMTP_URL: the port is not a number"),
        ("smtp://:25", "RETAIN_SMTP_URL: no host given"),
        ("smtp://host?tls=1", "RETAIN_SMTP_URL: unknown option 'tls'"),
        ("smtp://host?starttls=maybe", "RETAIN_SMTP_URL: starttls='maybe'"),
        ("smtps://host?starttls=1", "RETAIN_SMTP_URL: smtps:// is TLS already"),
        ("smtp://host?timeout=soon", "RETAIN_SMTP_URL: timeout='soon' is not seconds"),
        ("smtp://host?timeout=0", "RETAIN_SMTP_URL: timeout=0 seconds"),
        ("smtp://:secret@host", "RETAIN_SMTP_URL: a password without a user name"),
    ],
)
def test_a_bad_url_is_refused_naming_the_variable(url, says) -> None:
    with pytest.raises(ConfigError) as refused:
        SmtpServer.from_url(url)
    assert str(refused.value).startswith(says)


def test_the_password_never_shows() -> None:
    server = SmtpServer.from_url("smtp://user:hunter2@host:587?starttls=1")
    assert "hunter2" not in repr(server) and "user:***@host:587" in repr(server)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("news@shop.example", "news@shop.example"),
        ("Shop <news@shop.example>", "Shop <news@shop.example>"),
        ('"Shop, Inc." <news@shop.example>', '"Shop, Inc." <news@shop.example>'),
    ],
)
def test_the_sender_is_one_address(value, expected) -> None:
    assert sender_from(value) == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "RETAIN_EMAIL_FROM is not set"),
        ("shop", "RETAIN_EMAIL_FROM: 'shop' is not one email address"),
        ("a@x.example, b@x.example", "is not one email address"),
        ("news@localhost", "has no domain"),
        ("Shop <news@shop.example>\r\nBcc: x@y.example", "a line break or NUL"),
    ],
)
def test_a_bad_sender_is_refused_naming_the_variable(value, says) -> None:
    with pytest.raises(ConfigError) as refused:
        sender_from(value)
    assert says in str(refused.value)


def test_the_settings_are_read_when_asked(settings) -> None:
    settings.RETAIN_SMTP_URL = "smtp://relay.example:25"
    settings.RETAIN_EMAIL_FROM = "Shop <news@shop.example>"
    assert configured_server() == SmtpServer("relay.example", 25)
    assert configured_sender() == "Shop <news@shop.example>"
