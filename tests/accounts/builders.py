"""Typed builders for accounts: users with a role, API keys with scopes."""

from __future__ import annotations

from retain.accounts.models import ApiKey, Role, User
from retain.accounts.services import create_api_key

_counter = iter(range(1, 10**9))


def make_user(*, role: Role = Role.AGENT, password: str = "a long passphrase", **overrides) -> User:
    username = overrides.pop("username", f"user{next(_counter)}")
    return User.objects.create_user(username=username, password=password, role=role, **overrides)


def make_api_key(*scopes: str, name: str = "test") -> tuple[ApiKey, str]:
    return create_api_key(name, scopes=scopes or ("read",))
