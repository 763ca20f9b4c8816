"""Users and API keys: creating and checking them. Services never commit; the caller does."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from retain.accounts.models import SCOPES, ApiKey, Role, User
from retain.errors import Conflict, PermissionDenied, RuleViolation

_PREFIX = "rk_"


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


def authenticate_api_key(plain: str | None, *, scope: str) -> ApiKey:
    """The live key behind ``plain`` if it has ``scope``; else :class:`PermissionDenied`."""
    key = _find(plain or "")
    if key is None:
        raise PermissionDenied("invalid or revoked API key")
    if scope not in key.scopes:
        raise PermissionDenied(f"this API key lacks the {scope!r} scope", scope=scope)
    return key


def revoke_api_key(prefix: str) -> ApiKey:
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise PermissionDenied("no such API key")
    key.revoked_at = timezone.now()
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
