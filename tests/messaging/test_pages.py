"""The public pages linked from emails: unsubscribe (one click, RFC 8058, and the page), the
click redirect and the open pixel. No sign-in, no CSRF token: the signed token is the proof."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from retain.messaging.composing import unsubscribe_url
from retain.messaging.models import Click, Open, Suppression, SuppressionReason
from retain.messaging.queries import clicks_of
from retain.messaging.services import suppress_bounced, unsubscribe
from retain.messaging.tokens import click_token, open_token, unsubscribe_token
from tests.messaging.builders import queue

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)  # as a mail provider's POST: no cookie, no token


def _page(message) -> str:
    token = unsubscribe_token(
        message_id=message.pk, address=message.to_address, topic=message.topic
    )
    return reverse("messaging:unsubscribe", args=[token])


def _tampered(url: str) -> str:
    head, _, last = url.rpartition("/")
    return f"{head}/{last[:-2]}{'A' if last[-2] != 'A' else 'B'}{last[-1]}"


def test_the_unsubscribe_link_in_the_email_is_this_page(options) -> None:
    message = queue()
    assert unsubscribe_url(message, options).endswith(_page(message))


def test_one_click_post_unsubscribes_at_once_without_csrf_or_sign_in(client) -> None:
    message = queue(to="ann@example.com", topic="newsletter")
    answer = client.post(
        _page(message), "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert answer.status_code == 200
    suppression = Suppression.objects.get(address="ann@example.com")
    assert (
        suppression.topic == "newsletter" and suppression.reason == SuppressionReason.UNSUBSCRIBED
    )
    assert suppression.source == "one-click unsubscribe" and suppression.message_id == message.pk


def test_one_click_as_multipart_form_data_works_too(client) -> None:
    message = queue(to="bo@example.com", topic="")
    answer = client.post(_page(message), {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert Suppression.objects.get(address="bo@example.com").topic == ""  # no topic: all


def test_opening_the_page_unsubscribes_nobody(client) -> None:
    """Link scanners fetch every link of a message: only a POST acts."""
    message = queue(to="cy@example.com", topic="newsletter")
    page = client.get(_page(message))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="en">' in html and "cy@example.com" in html
    assert "Unsubscribe from newsletter" in html
    assert '<label for="topic-1">' in html and 'id="topic-1"' in html
    assert page["Cache-Control"].startswith("max-age=0")
    assert not Suppression.objects.exists()


def test_the_page_unsubscribes_from_a_topic_or_from_everything_and_back(client) -> None:
    message = queue(to="di@example.com", topic="newsletter")
    queue(to="di@example.com", topic="winback")
    page = _page(message)
    answer = client.post(page, {"action": "topic"})
    assert answer.status_code == 200 and 'role="status"' in answer.content.decode()
    assert "Unsubscribe from newsletter" not in answer.content.decode()  # done already
    assert set(Suppression.objects.values_list("topic", flat=True)) == {"newsletter"}
    client.post(page, {"action": "topics", "topic": ["newsletter"]})  # back in, winback out
    assert set(Suppression.objects.values_list("topic", flat=True)) == {"winback"}
    answer = client.post(page, {"action": "all"})
    assert "You receive no marketing emails" in answer.content.decode()
    client.post(page, {"action": "resubscribe"})
    assert not Suppression.objects.exists()


def test_a_bounced_address_sees_why_nothing_comes(client) -> None:
    message = queue(to="ed@example.com")
    suppress_bounced("ed@example.com", source="smtp bounce")
    html = client.get(_page(message)).content.decode()
    assert "could not be delivered" in html and 'name="action"' not in html


def test_an_unknown_form_is_refused(client) -> None:
    message = queue()
    assert client.post(_page(message), {"action": "delete-everything"}).status_code == 400
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_unsubscribe_token_is_refused_with_a_plain_page(client, method) -> None:
    message = queue()
    answer = getattr(client, method)(_tampered(_page(message)), {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 400 and "This link does not work" in answer.content.decode()
    assert not Suppression.objects.exists()


def test_a_click_token_is_not_an_unsubscribe_token(client) -> None:
    message = queue()
    token = click_token(message_id=message.pk, url="https://shop.example/")
    assert client.get(reverse("messaging:unsubscribe", args=[token])).status_code == 400


def test_a_click_is_recorded_and_leads_to_the_signed_url(client) -> None:
    message = queue()
    url = "https://shop.example/offer?a=1&b=2"
    answer = client.get(
        reverse("messaging:click", args=[click_token(message_id=message.pk, url=url)])
    )
    assert answer.status_code == 302 and answer["Location"] == url
    assert [u for u, _ in clicks_of(message.pk)] == [url]


def test_a_tampered_click_token_leads_nowhere_and_records_nothing(client) -> None:
    message = queue()
    link = reverse(
        "messaging:click", args=[click_token(message_id=message.pk, url="https://shop.example/")]
    )
    answer = client.get(_tampered(link))
    assert answer.status_code == 400 and "Location" not in answer
    assert not Click.objects.exists()


def test_a_signed_link_to_another_scheme_is_not_followed(client) -> None:
    message = queue()
    token = click_token(message_id=message.pk, url="javascript:alert(1)")
    assert client.get(reverse("messaging:click", args=[token])).status_code == 400


def test_a_click_in_a_message_since_deleted_still_leads_on(client) -> None:
    message = queue()
    token = click_token(message_id=message.pk, url="https://shop.example/")
    message.customer.delete()
    answer = client.get(reverse("messaging:click", args=[token]))
    assert answer.status_code == 302 and not Click.objects.exists()


def test_an_unsubscribe_from_a_message_since_deleted_still_counts(client) -> None:
    message = queue(to="fay@example.com")
    page = _page(message)
    message.customer.delete()
    assert client.post(page, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Suppression.objects.get(address="fay@example.com").message_id is None


def test_the_open_pixel_records_an_open(client) -> None:
    message = queue()
    answer = client.get(reverse("messaging:open", args=[open_token(message_id=message.pk)]))
    assert answer.status_code == 200 and answer["Content-Type"] == "image/gif"
    assert Open.objects.filter(message=message).count() == 1


def test_an_unsubscribed_address_is_shown_so(client) -> None:
    message = queue(to="gus@example.com")
    unsubscribe("gus@example.com", None, source="t")
    assert "You receive no marketing emails" in client.get(_page(message)).content.decode()
