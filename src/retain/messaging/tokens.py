"""The signed tokens in the links of a message: unsubscribe, click and open.

Signed with ``django.core.signing`` under a salt per purpose (a click token cannot pass for
an unsubscribe one) and without a timestamp, so composing the same message again (a re-send
after a crash) writes the same links, and a link keeps working as long as the secret key
stays the same. A token carries what its page needs, so the page works even once the message
row is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

_CLICK = "retain.messaging.click"
_UNSUBSCRIBE = "retain.messaging.unsubscribe"
_OPEN = "retain.messaging.open"


class BadToken(ValueError):
    """A token that was not signed by us, was altered, or is not of the kind asked for."""


@dataclass(frozen=True)
class UnsubscribeLink:
    message_id: int | None
    address: str
    #: ``""``: the message had no topic, so the link is for all marketing.
    topic: str


def unsubscribe_token(*, message_id: int | None, address: str, topic: str) -> str:
    signer = signing.Signer(salt=_UNSUBSCRIBE)
    return signer.sign_object([message_id, address, topic], compress=True)


def read_unsubscribe_token(token: str) -> UnsubscribeLink:
    value = _unsign(token, _UNSUBSCRIBE)
    match value:
        case [int() | None as message_id, str() as address, str() as topic] if address:
            return UnsubscribeLink(message_id=message_id, address=address, topic=topic)
    raise BadToken("not an unsubscribe token")


def click_token(*, message_id: int, url: str) -> str:
    return signing.Signer(salt=_CLICK).sign_object([message_id, url], compress=True)


def read_click_token(token: str) -> tuple[int, str]:
    """The message and the URL signed with it: the only place a click may lead to."""
    match _unsign(token, _CLICK):
        case [int() as message_id, str() as url] if url:
            return message_id, url
    raise BadToken("not a click token")


def open_token(*, message_id: int) -> str:
    return signing.Signer(salt=_OPEN).sign_object(message_id)


def read_open_token(token: str) -> int:
    value = _unsign(token, _OPEN)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise BadToken("not an open token")


def _unsign(token: str, salt: str) -> object:
    try:
        return signing.Signer(salt=salt).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeError) as error:
        # BadSignature for a wrong or altered signature; the others for a token whose
        # signature holds but whose payload does not decode (never of our making).
        raise BadToken(str(error)) from None
