"""Login throttling: too many wrong passwords for one account or from one address lock both
doors (``POST /api/v1/auth/login`` and ``/admin/login/``) for a while.

After :attr:`LoginThrottle.limit` failures within :attr:`LoginThrottle.window` for a username,
or from a client address, a sign-in is refused (429 with ``Retry-After``) before the password
is even checked, the right one included, until the oldest of those failures leaves the
window. Failures are rows of :class:`~retain.accounts.models.LoginFailure`, so all server
processes on one database share them; a successful sign-in clears its username's failures
(not its address's). Each failure is logged (WARNING) with the username and the address.

The failures are counted from Django's ``user_login_failed`` signal, so anything signing in
through ``django.contrib.auth.authenticate`` with a request is counted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from retain.accounts.models import LoginFailure
from retain.errors import PermissionDenied

log = logging.getLogger("retain.accounts.login")


class Throttled(PermissionDenied):
    """Too many failed sign-ins: ``retry_after`` seconds until one may try again."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int, **details: object) -> None:
        super().__init__(message, retry_after=retry_after, status=429, **details)
        self.retry_after = retry_after


def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip()) for part in spec.split(",") if part.strip())


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the connection comes from a proxy of ``RETAIN_TRUSTED_PROXIES``."""
    networks = _networks(getattr(settings, "RETAIN_TRUSTED_PROXIES", ""))
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in networks)


def client_address(request: HttpRequest | None) -> str:
    """The client's address: the peer's, or behind a trusted proxy the last address it added
    to ``X-Forwarded-For`` (what the client itself sent before that can be forged)."""
    if request is None:
        return ""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    if from_trusted_proxy(request):
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        for candidate in reversed([part for part in forwarded if part]):
            try:
                address = ipaddress.ip_address(candidate)
            except ValueError:
                break
            networks = _networks(settings.RETAIN_TRUSTED_PROXIES)
            if not any(address in network for network in networks):
                return str(address)
    return peer[:64]


@dataclass
class LoginThrottle:
    """The throttle of both sign-in doors; ``clock`` is injectable for tests."""

    limit: int = 10
    window: dt.timedelta = dt.timedelta(minutes=15)
    clock: Callable[[], dt.datetime] = field(default=timezone.now)

    def check(self, username: str, address: str) -> None:
        """Raise :class:`Throttled` while ``username`` or ``address`` is locked."""
        now = self.clock()
        waits = [
            self._wait(LoginFailure.objects.filter(**{kind: value}), now)
            for kind, value in (("username", username), ("address", address))
            if value
        ]
        wait = max(waits, default=0)
        if wait > 0:
            log.warning(
                "sign-in refused for username %r from %s: %d failed attempts within %d "
                "minutes; retry in %d s",
                username, address or "unknown", self.limit, self.window_minutes, wait,
            )  # fmt: skip
            raise Throttled(
                f"too many failed sign-ins for this account or address; try again in {wait} s",
                retry_after=wait,
            )

    def failed(self, username: str, address: str) -> None:
        """Count one wrong password (and forget failures older than the window)."""
        now = self.clock()
        LoginFailure.objects.filter(at__lt=now - self.window).delete()
        LoginFailure.objects.create(username=username[:150], address=address[:64], at=now)
        count = LoginFailure.objects.filter(username=username[:150], at__gte=now - self.window)
        log.warning(
            "failed sign-in for username %r from %s (%d for this account within %d minutes)",
            username, address or "unknown", count.count(), self.window_minutes,
        )  # fmt: skip

    def succeeded(self, username: str) -> None:
        """A right password clears its account's failures."""
        LoginFailure.objects.filter(username=username).delete()

    @property
    def window_minutes(self) -> int:
        return int(self.window.total_seconds() // 60)

    def _wait(self, failures, now: dt.datetime) -> int:
        """Seconds until fewer than ``limit`` of ``failures`` are within the window."""
        recent = failures.filter(at__gt=now - self.window).order_by("-at")
        times = list(recent.values_list("at", flat=True)[: self.limit])
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil((times[-1] + self.window - now).total_seconds()))


def _from_settings() -> LoginThrottle:
    return LoginThrottle(
        limit=getattr(settings, "RETAIN_LOGIN_LIMIT", 10),
        window=dt.timedelta(minutes=getattr(settings, "RETAIN_LOGIN_WINDOW_MINUTES", 15)),
    )


#: The one throttle both doors use.
login_throttle = _from_settings()
