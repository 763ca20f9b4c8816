"""Who is held out, by hash: the same answer in every process, on every run, and in an
analyst's notebook, with nothing stored.

A customer's place in ``[0, 1)`` is the SHA-256 of a text naming the draw (the journey and
the customer), read as a fraction; they are held out when it falls below the share. Python's
``hash`` would not do: it changes from one process to the next.
"""

from __future__ import annotations

import hashlib
import math

#: The bytes of the digest read as the fraction (2**64 places: finer than any share).
_FRACTION_BYTES = 8


def stable_fraction(text: str) -> float:
    """A number in ``[0, 1)`` fixed by ``text`` and spread evenly over texts."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:_FRACTION_BYTES], "big") / 2 ** (8 * _FRACTION_BYTES)


def in_holdout(journey_key: str, customer_key: str, share: float) -> bool:
    """Whether the customer is in the journey's holdout: ``share`` of customers (0.1: one in
    ten) who enter and go through the journey without receiving anything, to measure it."""
    _check_share(share)
    return stable_fraction(f"{journey_key}:{customer_key}") < share


def in_global_control(customer_key: str, share: float, salt: str) -> bool:
    """Whether the customer is in the global control group: ``share`` of all customers who
    receive no marketing from any journey. ``salt`` (the shop's, kept for good) makes the
    draw independent of every journey's holdout; a new salt draws a new group."""
    _check_share(share)
    return stable_fraction(f"global-control:{salt}:{customer_key}") < share


def _check_share(share: float) -> None:
    number = isinstance(share, int | float) and not isinstance(share, bool)
    if not (number and math.isfinite(share) and 0 <= share <= 1):
        raise ValueError(f"share must be a fraction from 0 to 1 (such as 0.1), not {share!r}")
