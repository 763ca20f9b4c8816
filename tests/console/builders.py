"""Builders for console tests: users of each role, signed in on Django's test client."""

from __future__ import annotations

import itertools

from django.test import Client

from retain.accounts.models import User
from retain.accounts.services import create_user

PASSWORD = "a-long-enough-password-7"
_numbers = itertools.count(1)


def make_user(role: str = "admin", **overrides: object) -> User:
    user = create_user(f"user{next(_numbers)}", password=PASSWORD, role=role)
    for name, value in overrides.items():
        setattr(user, name, value)
    if overrides:
        user.save()
    return user


def signed_in(user: User | None = None, **headers: str) -> Client:
    """A test client signed in as ``user`` (an admin made for it by default)."""
    client = Client(**headers)
    client.force_login(user or make_user())
    return client
