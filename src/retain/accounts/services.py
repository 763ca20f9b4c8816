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
from django.utils.translation import gettext as _

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
    user = User(username=username)
    user.set_password(password)
    set_role(user, role)
    user.save()
    return user


def set_role(user: User, role: str) -> User:
    """Give ``user`` the role ``role`` and the Django flags that go with it (not saved).

    The role is the one place a user's power is decided: ``is_staff`` and ``is_superuser``
    follow it (an admin has both, anyone else neither), so demoting an admin also takes the
    Django admin away, whichever door (the CLI, the admin's user form) made the change.
    """
    if role not in Role.values:
        raise RuleViolation(f"role must be one of {', '.join(Role.values)}", field="role")
    admin = role == Role.ADMIN
    user.role, user.is_staff, user.is_superuser = role, admin, admin
    return user


def list_users() -> list[User]:
    """Every user, active first, then by name."""
    return list(User.objects.order_by("-is_active", "username"))


def get_user(pk: int) -> User:
    """The user with this id; :class:`NotFound` when there is none."""
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise NotFound(f"no user with id {pk}", user=pk)
    return user


def check_user_change(user: User, *, role: str, active: bool, by: User) -> None:
    """:class:`RuleViolation` if the admin ``by`` may not give ``user`` this role and state
    (nothing is saved): every door (the console, the Django admin) asks this first.

    ``by`` cannot demote or deactivate themself (the one who could undo it would be gone),
    and the last active admin stays one (nobody could manage users any more). The messages
    speak the request's language: the console shows them as they are.
    """
    if role not in Role.values:
        raise RuleViolation(f"role must be one of {', '.join(Role.values)}", field="role")
    demoted = user.role == Role.ADMIN and role != Role.ADMIN
    deactivated = user.is_active and not active
    if user.pk == by.pk and demoted:
        raise RuleViolation(
            _("You cannot take the admin role from yourself: ask another admin."),
            field="role", rule="self",
        )  # fmt: skip
    if user.pk == by.pk and deactivated:
        raise RuleViolation(
            _("You cannot deactivate yourself: ask another admin."),
            field="is_active", rule="self",
        )  # fmt: skip
    if user.role == Role.ADMIN and user.is_active and (demoted or deactivated):
        _keep_an_admin(user)


def change_role(user: User, role: str, *, by: User) -> User:
    """Give ``user`` the role ``role`` on the word of the admin ``by`` (saved), if
    :func:`check_user_change` allows it."""
    check_user_change(user, role=role, active=user.is_active, by=by)
    set_role(user, role)
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    return user


def set_active(user: User, active: bool, *, by: User) -> User:
    """Deactivate (``active=False``) or reactivate ``user`` on the word of the admin ``by``
    (saved), if :func:`check_user_change` allows it. A deactivated user cannot sign in, and
    their open sessions end at once."""
    check_user_change(user, role=user.role, active=active, by=by)
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


def _keep_an_admin(leaving: User) -> None:
    """:class:`RuleViolation` unless an active admin other than ``leaving`` remains.

    Every active admin's row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL, in the
    order of their ids) for the caller's transaction, so two admins demoting each other at
    once cannot both succeed: the second waits, then sees the first's change. SQLite has one
    writer at a time anyway.
    """
    admins = User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True)
    if not [pk for pk in admins.order_by("pk").values_list("pk", flat=True) if pk != leaving.pk]:
        raise RuleViolation(
            _("%(name)s is the last active admin: make another user an admin first.")
            % {"name": leaving.username},
            field="role", rule="last_admin",
        )  # fmt: skip


def checked_scopes(scopes: Iterable[str]) -> list[str]:
    """``scopes`` sorted without repeats; :class:`RuleViolation` when one is unknown or none
    is given (a key that may do nothing is a mistake)."""
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown or not wanted:
        raise RuleViolation(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(wanted) or 'none'}",
            scopes=wanted,
        )
    return wanted


def expiry_after(days: int, *, now: dt.datetime | None = None) -> dt.datetime:
    """When a key made ``now`` (default: the clock) expires if it lives ``days`` days;
    :class:`RuleViolation` unless ``days`` is at least 1."""
    if days < 1:
        raise RuleViolation(f"a key must live at least 1 day; got {days}", field="expires_in")
    return (now or timezone.now()) + dt.timedelta(days=days)


def create_api_key(
    name: str,
    *,
    scopes: Iterable[str],
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its plain text, which is shown once and never stored.

    A key with ``expires_at`` is refused from that moment on (:func:`authenticate_api_key`);
    one that would be born expired (``expires_at`` not after ``now``) is a
    :class:`RuleViolation`.
    """
    wanted = checked_scopes(scopes)
    if expires_at is not None and expires_at <= (now or timezone.now()):
        raise RuleViolation(
            f"a key cannot expire in the past: {_moment(expires_at)}", field="expires_at"
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name, prefix=prefix, secret_hash=_digest(secret), scopes=wanted,
        expires_at=expires_at,
    )  # fmt: skip
    return key, f"{_PREFIX}{prefix}_{secret}"


def authenticate_api_key(
    plain: str | None, *, scope: str, now: dt.datetime | None = None
) -> ApiKey:
    """The live key behind ``plain`` if it has ``scope``; else :class:`PermissionDenied`.

    A key that proves a request has its ``last_used_at`` brought up to ``now`` (default: the
    clock) when it is older than :data:`LAST_USED_PRECISION`. A key past its ``expires_at``
    is refused with the day it expired, so whoever holds it knows to ask for a new one.
    """
    key = _find(plain or "")
    if key is None:
        raise PermissionDenied("invalid or revoked API key")
    now = now or timezone.now()
    if key.expires_at is not None and key.expires_at <= now:
        raise PermissionDenied(
            f"API key {key.name!r} (prefix {key.prefix}) expired on {_moment(key.expires_at)}",
            expired_at=_moment(key.expires_at),
        )
    if scope not in key.scopes:
        raise PermissionDenied(f"this API key lacks the {scope!r} scope", scope=scope)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def list_api_keys() -> list[ApiKey]:
    """Every key, live and revoked, oldest first."""
    return list(ApiKey.objects.order_by("created_at", "id"))


def key_state(key: ApiKey, *, now: dt.datetime | None = None) -> str:
    """``"revoked"``, ``"expired"`` or ``"live"``: whether the key would prove a request."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= (now or timezone.now()):
        return "expired"
    return "live"


def get_api_key(prefix: str) -> ApiKey:
    """The key with this prefix (live or revoked); :class:`NotFound` when there is none."""
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise NotFound(f"no API key with prefix {prefix!r}", key=prefix)
    return key


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


def _moment(moment: dt.datetime) -> str:
    """A time as people read it in a message: UTC, to the minute."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _find(plain: str) -> ApiKey | None:
    if not plain.startswith(_PREFIX) or plain.count("_") < 2:
        return None
    prefix, _, secret = plain[len(_PREFIX) :].partition("_")
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
        return None
    return key
