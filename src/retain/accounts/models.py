"""Users (with a role) and API keys (with scopes); a key's secret is stored only as a hash."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

#: What an API key may be allowed to do.
SCOPES = ("track", "read", "import", "write", "journeys")


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    ANALYST = "analyst", _("Analyst")
    AGENT = "agent", _("Agent")


#: The scopes a signed-in user has by role.
ROLE_SCOPES = {
    Role.ADMIN: frozenset(SCOPES),
    Role.ANALYST: frozenset({"read", "import", "journeys"}),
    Role.AGENT: frozenset({"read"}),
}


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    #: The console's language for this user (``""``: the browser's); a code of LANGUAGES.
    language = models.CharField(max_length=8, blank=True)

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[Role(self.role)]


class ApiKey(models.Model):
    """``rk_<prefix>_<secret>``: the prefix finds the row, the secret's SHA-256 proves it."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: When the key last proved a request, to the minute (see ``LAST_USED_PRECISION``).
    last_used_at = models.DateTimeField(null=True, blank=True)
    #: From this moment the key is refused (``None``: it lives until revoked).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}, {', '.join(self.scopes)})"


class LoginFailure(models.Model):
    """One wrong password, kept for the throttle's window (see :mod:`retain.accounts.throttle`).

    In the database, not in memory, so that every server process counts the same failures.
    """

    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.username} from {self.address or 'unknown'} at {self.at:%Y-%m-%d %H:%M:%S}"
