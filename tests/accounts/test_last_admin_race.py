"""Two admins demoting each other at the same moment: one wins, the other is told the store
would be left without an admin (the admins' rows are locked on PostgreSQL; SQLite's writers
queue at BEGIN IMMEDIATE)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from retain.accounts.models import Role, User
from retain.accounts.services import change_role
from retain.errors import RuleViolation
from tests.accounts.builders import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_admins_demoting_each_other_at_once_leave_one_admin() -> None:
    ann = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True)
    bob = make_user(role=Role.ADMIN, is_staff=True, is_superuser=True)
    first_done = threading.Event()
    outcomes: dict[str, str] = {}

    def demote(target: User, by: User, name: str, hold: float) -> None:
        try:
            with transaction.atomic():
                change_role(target, Role.AGENT, by=by)
                first_done.set()
                time.sleep(hold)  # the other one tries meanwhile
            outcomes[name] = "demoted"
        except RuleViolation as error:
            outcomes[name] = error.details["rule"]
        finally:
            first_done.set()
            connection.close()

    first = threading.Thread(target=demote, args=(bob, ann, "ann demotes bob", 1.5))
    first.start()
    assert first_done.wait(30)
    second = threading.Thread(target=demote, args=(ann, bob, "bob demotes ann", 0))
    second.start()
    first.join(60)
    second.join(60)
    assert outcomes == {"ann demotes bob": "demoted", "bob demotes ann": "last_admin"}
    assert list(User.objects.filter(role=Role.ADMIN).values_list("pk", flat=True)) == [ann.pk]
