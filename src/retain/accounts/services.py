"""Users and API keys: creating and checking them. Services never commit; the caller does."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from retain.accounts.models import SCOPES, ApiKey, Role, User
from retain.errors import Conflict, NotFound, PermissionDenied, RuleViolation

_PREFIX = "rk_"
#: A key's ``last_used_at`` is written at most this often: a busy key costs one small write
#: a minute, not one per request.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(username: str, *, password: str, role: str) -> User:
    """A user with ``role``; admins may also use the Django admin. The password must pass
    Django's validators (length, not a common one)."""
    if role not in Role.values:
        raise RuleViolation(f"role must be one of {', '.join(Role.values)}", field="role")
    try:
        validate_password(password, User(username=username, role=role))
    except ValidationError as error:
        raise RuleViolation(f"password: {' '.join(error.messages)}", field="password") from None
    if User.objects.filter(username=username).exists():
        raise Conflict(f"a user named {username!r} exists already", field="username")
    admin = role == Role.ADMIN
    return User.objects.create_user(
        username=username, password=password, role=role, is_staff=admin, is_superuser=admin
    )


def create_api_key(name: str, *, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """A new key and its plain text, which is shown once and never stored."""
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown or not wanted:
        raise RuleViolation(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(wanted) or 'none'}",
            scopes=wanted,
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name, prefix=prefix, secret_hash=_digest(secret), scopes=wanted
    )
    return key, f"{_PREFIX}{prefix}_{secret}"


def authenticate_api_key(
    plain: str | None, *, scope: str, now: dt.datetime | None = None
) -> ApiKey:
    """The live key behind ``plain`` if it has ``scope``; else :class:`PermissionDenied`.

    A key that proves a request has its ``last_used_at`` brought up to ``now`` (default: the
    clock) when it is older than :data:`LAST_USED_PRECISION`.
    """
    key = _find(plain or "")
    if key is None:
        raise PermissionDenied("invalid or revoked API key")
    if scope not in key.scopes:
        raise PermissionDenied(f"this API key lacks the {scope!r} scope", scope=scope)
    now = now or timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def list_api_keys() -> list[ApiKey]:
    """Every key, live and revoked, oldest first."""
    return list(ApiKey.objects.order_by("created_at", "id"))


def revoke_api_key(name_or_prefix: str, *, now: dt.datetime | None = None) -> ApiKey:
    """Revoke the key with this prefix (``rk_<prefix>...`` is accepted too), else the one
    live key with this name; the key, with its ``revoked_at``.

    A key revoked already is returned as it is (revoking is idempotent). Several live keys
    with the name are a :class:`Conflict` naming their prefixes, since a name need not be
    unique; nothing matching is :class:`NotFound`.
    """
    wanted = name_or_prefix.strip()
    prefix = wanted[len(_PREFIX) :].partition("_")[0] if wanted.startswith(_PREFIX) else wanted
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        named = list(ApiKey.objects.filter(name=wanted).order_by("-created_at", "-id"))
        live = [each for each in named if each.revoked_at is None]
        if len(live) > 1:
            prefixes = ", ".join(each.prefix for each in live)
            raise Conflict(
                f"{len(live)} live API keys are named {wanted!r} (prefixes {prefixes}); "
                "revoke one by its prefix",
                name=wanted,
            )
        key = live[0] if live else (named[0] if named else None)
    if key is None:
        raise NotFound(f"no API key named {wanted!r} or with that prefix", key=wanted)
    if key.revoked_at is None:
        key.revoked_at = now or timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def _find(plain: str) -> ApiKey | None:
    if not plain.startswith(_PREFIX) or plain.count("_") < 2:
        return None
    prefix, _, secret = plain[len(_PREFIX) :].partition("_")
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
        return None
    return key
