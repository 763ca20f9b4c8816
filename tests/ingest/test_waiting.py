"""Calls that wait for what they need: a call with only an ``anonymousId`` waits for a later
call to link that id to a customer, a refund waits for its order; each for a stated time,
then fails with its reason and can be retried."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from django.test import Client
from django.utils import timezone

from retain.accounts.models import Role
from retain.cli import main
from retain.customers.models import Consent, Customer, Event, Order
from retain.customers.services import get_or_create_customer, link_identity
from retain.ingest.applying import apply_pending_messages, sweep_waiting
from retain.ingest.import_runs import import_file
from retain.ingest.models import Message
from retain.ingest.queries import count_waiting_messages
from retain.ingest.services import accept_calls
from retain.ingest.waiting import SWEEP_JOB
from retain.worker.models import Job, JobStatus
from retain.worker.runner import run_jobs_until_idle, run_next_job
from tests.accounts.builders import make_user
from tests.ingest.builders import (
    make_alias,
    make_group,
    make_identify,
    make_order_completed,
    make_page,
    make_screen,
    make_track,
)
from tests.ingest.files import write_file

pytestmark = pytest.mark.django_db
T1, T2 = "2026-03-01T12:00:00+00:00", "2026-03-05T12:00:00+00:00"


def store(*messages: dict[str, Any], received_at: dt.datetime | None = None) -> None:
    accept_calls({"batch": list(messages)}, kind=None, source=None,
                 received_at=received_at or timezone.now())  # fmt: skip


def anonymous_calls(anonymous_id: str = "a-1") -> list[dict[str, Any]]:
    """An anonymous visitor's identify (traits, email, consent), order and events of every
    kind."""
    anonymous = {"userId": None, "anonymousId": anonymous_id, "timestamp": T1}
    traits = {"email": "ann@example.com", "name": "Ann Lee", "plan": "gold",
              "email_consent": True}  # fmt: skip
    return [
        make_identify(messageId="m-identify", traits=traits, **anonymous),
        make_order_completed(messageId="m-order", order_id="o-1", total=30, **anonymous),
        make_page(messageId="m-page", **anonymous),
        make_track(messageId="m-track", **anonymous),
        make_screen(messageId="m-screen", **anonymous),
        make_group(messageId="m-group", **anonymous),
    ]


def one_order(order_id: str) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["c-7"], "order_id": [order_id],
                         "ordered_at": ["2026-02-01T10:00:00Z"], "amount": ["12.50"]})  # fmt: skip


def state(message_id: str) -> tuple[bool, str, str]:
    message = Message.objects.get(message_id=message_id)
    return message.applied_at is not None, message.waiting_for, message.error


def assert_all_attached_to(user_id: str) -> None:
    customer = Customer.objects.get(external_id=user_id)
    assert (customer.email, customer.name, customer.traits["plan"]) == (
        "ann@example.com", "Ann Lee", "gold")  # fmt: skip
    assert Consent.objects.get(customer=customer, channel="email").granted
    assert list(Order.objects.values_list("external_id", "customer__external_id")) == [
        ("o-1", user_id)
    ]
    assert sorted(Event.objects.filter(customer=customer).values_list("kind", flat=True)) == [
        "group", "page", "screen", "track"]  # fmt: skip
    assert not Event.objects.filter(customer__isnull=True).exists()
    assert Message.objects.filter(applied_at__isnull=True).count() == 0
    assert count_waiting_messages() == 0


def test_anonymous_calls_wait_and_an_identify_gives_them_to_the_customer(client: Client) -> None:
    store(*anonymous_calls())
    result = apply_pending_messages()
    assert (result.applied, result.waiting, result.failed) == (4, 2, 0)
    assert state("m-identify") == (False, "anonymous_id:a-1", "")
    assert state("m-order") == (False, "anonymous_id:a-1", "")
    assert not Customer.objects.exists() and not Order.objects.exists()
    assert Event.objects.filter(customer__isnull=True, anonymous_id="a-1").count() == 4
    health = client.get("/healthz").json()
    assert (health["waiting_messages"], health["failed_messages"]) == (2, 0)
    assert apply_pending_messages().claimed == 0  # waiting messages are not claimed

    store(make_identify(messageId="m-link", userId="u-1", anonymousId="a-1", traits={},
                        timestamp=T2))  # fmt: skip
    result = apply_pending_messages()
    assert (result.claimed, result.applied, result.woken, result.waiting) == (1, 3, 2, 0)
    assert_all_attached_to("u-1")
    assert state("m-identify") == (True, "anonymous_id:a-1", "")  # kept as a record
    assert client.get("/healthz").json()["waiting_messages"] == 0


def test_an_alias_gives_the_anonymous_calls_to_the_customer() -> None:
    store(*anonymous_calls())
    apply_pending_messages()
    store(make_alias(messageId="m-alias", previousId="a-1", userId="u-1", timestamp=T2))
    assert apply_pending_messages().woken == 2
    assert_all_attached_to("u-1")


def test_an_anonymous_call_after_the_link_is_applied_at_once() -> None:
    store(make_identify(userId="u-1", anonymousId="a-1", traits={}))
    apply_pending_messages()
    store(*anonymous_calls())
    result = apply_pending_messages()
    assert (result.applied, result.waiting) == (6, 0)
    assert_all_attached_to("u-1")


def test_a_link_in_the_same_run_wakes_the_calls_before_it() -> None:
    store(*anonymous_calls(), make_track(userId="u-1", anonymousId="a-1", timestamp=T2))
    result = apply_pending_messages()
    assert (result.claimed, result.applied, result.waiting, result.woken) == (7, 7, 2, 2)
    assert Order.objects.get().customer.external_id == "u-1"
    assert count_waiting_messages() == 0


def test_a_refund_waits_for_its_tracked_order() -> None:
    store(make_track(messageId="m-refund", event="Order Refunded",
                     properties={"order_id": "o-9"}))  # fmt: skip
    assert apply_pending_messages().waiting == 1
    assert state("m-refund") == (False, "order:o-9", "")

    store(make_order_completed(order_id="o-9"))
    result = apply_pending_messages()
    assert (result.applied, result.woken) == (2, 1)
    assert Order.objects.get(external_id="o-9").status == "refunded"
    assert state("m-refund")[0]


def test_a_refund_and_its_order_in_one_run_and_an_anonymous_order_woken_with_its_refund() -> None:
    store(make_track(event="Order Refunded", properties={"order_id": "o-9"}),
          make_order_completed(order_id="o-9"),
          make_order_completed(userId=None, anonymousId="a-2", order_id="o-10"),
          make_track(event="Order Refunded", properties={"order_id": "o-10"}))  # fmt: skip
    apply_pending_messages()
    assert Order.objects.get(external_id="o-9").status == "refunded"
    assert count_waiting_messages() == 2  # o-10 waits for its anonymousId, its refund for o-10
    store(make_identify(userId="u-2", anonymousId="a-2", traits={}))
    assert apply_pending_messages().woken == 2  # the order, then the refund it resolved
    assert Order.objects.get(external_id="o-10").status == "refunded"
    assert Order.objects.get(external_id="o-10").customer.external_id == "u-2"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_refund_waits_for_its_order_from_a_file(tmp_path, fmt: str) -> None:
    store(make_track(event="Order Refunded", properties={"order_id": "o-7"}))
    run_jobs_until_idle()
    assert count_waiting_messages() == 1
    orders = one_order("o-7")
    import_file("orders", write_file(orders, tmp_path, "orders", fmt))
    assert Job.objects.get(name=SWEEP_JOB, status=JobStatus.READY).run_after <= timezone.now()
    run_jobs_until_idle()
    assert Order.objects.get(external_id="o-7").status == "refunded"
    assert count_waiting_messages() == 0


def test_an_orders_file_enqueues_nothing_when_no_refund_waits(tmp_path) -> None:
    orders = one_order("o-7")
    import_file("orders", write_file(orders, tmp_path, "orders", "csv"))
    assert not Job.objects.exists()


def test_past_their_deadline_waiting_messages_fail_with_a_reason_and_can_be_retried(
    client: Client, capsys
) -> None:
    now = timezone.now()
    store(make_track(messageId="m-refund", event="Order Refunded",
                     properties={"order_id": "o-late"}),
          *anonymous_calls()[:1], received_at=now)  # fmt: skip
    apply_pending_messages(now=now)
    assert sweep_waiting(now=now + dt.timedelta(days=6)).failed == 0  # still in time
    assert sweep_waiting(now=now + dt.timedelta(days=8)).failed == 1
    assert state("m-refund") == (False, "order:o-late",
                                 "NotFound: no order 'o-late' arrived within 7 days")  # fmt: skip
    assert state("m-identify")[2] == ""
    assert sweep_waiting(now=now + dt.timedelta(days=31)).failed == 1
    assert state("m-identify")[2] == (
        "NotFound: anonymousId 'a-1' was never linked to a customer within 30 days"
    )
    health = client.get("/healthz").json()
    assert (health["waiting_messages"], health["failed_messages"]) == (0, 2)

    store(make_order_completed(userId="u-1", anonymousId="a-1", order_id="o-late"))
    apply_pending_messages()
    assert state("m-refund")[2] != ""  # a failed message is not woken: it needs a person
    assert main(["ingest", "retry", "--all"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2 failed message(s) retried: 2 applied, 0 failed again; 0 failed in all"
    ]
    assert Order.objects.get(external_id="o-late").status == "refunded"
    assert Customer.objects.get(external_id="u-1").email == "ann@example.com"


def test_a_message_received_longer_ago_than_it_may_wait_fails_at_once() -> None:
    now = timezone.now()
    store(make_track(messageId="m-refund", event="Order Refunded",
                     properties={"order_id": "o-old"}),
          received_at=now - dt.timedelta(days=8))  # fmt: skip
    assert apply_pending_messages(now=now).failed == 1
    assert state("m-refund")[2] == "NotFound: no order 'o-old' arrived within 7 days"


def test_older_parked_traits_do_not_overwrite_newer_ones() -> None:
    old = {"email": "old@example.com", "name": "Old Name", "plan": "silver",
           "birthday": "1990-05-17", "email_consent": True}  # fmt: skip
    store(make_identify(userId=None, anonymousId="a-1", timestamp=T1, traits=old))
    apply_pending_messages()
    new = {"email": "new@example.com", "firstName": "New", "unsubscribed": True}
    store(make_identify(userId="u-1", anonymousId="a-1", timestamp=T2, traits=new))
    assert apply_pending_messages().woken == 1
    customer = Customer.objects.get(external_id="u-1")
    assert (customer.email, customer.name) == ("new@example.com", "New")
    assert customer.traits["plan"] == "silver"  # set by no later call
    assert customer.birthday == dt.date(1990, 5, 17)
    assert not Consent.objects.get(customer=customer, channel="email").granted
    assert not customer.domain_events.filter(name="customer.email_changed").exists()


def test_an_identify_older_than_the_last_applied_one_does_not_overwrite_it() -> None:
    store(
        make_identify(userId="u-1", timestamp=T2, traits={"name": "New", "plan": "gold"}),
        make_identify(userId="u-1", timestamp=T1, traits={"name": "Old", "city": "Rome"}),
    )
    apply_pending_messages()
    customer = Customer.objects.get(external_id="u-1")
    assert (customer.name, customer.traits) == ("New", {"name": "New", "plan": "gold",
                                                        "city": "Rome"})  # fmt: skip


def test_replaying_applies_nothing_twice() -> None:
    calls = [*anonymous_calls(), make_track(event="Order Refunded",
                                            properties={"order_id": "o-1"})]  # fmt: skip
    store(*calls)
    apply_pending_messages()
    link = make_identify(userId="u-1", anonymousId="a-1", traits={}, timestamp=T2)
    store(link)
    apply_pending_messages()
    before = (Event.objects.count(), Order.objects.count(), Consent.objects.count(),
              list(Message.objects.values_list("message_id", "applied_at")))  # fmt: skip
    store(*calls, link)  # the same calls again: stored once, applied once
    assert apply_pending_messages().claimed == 0
    assert sweep_waiting().woken == 0
    after = (Event.objects.count(), Order.objects.count(), Consent.objects.count(),
             list(Message.objects.values_list("message_id", "applied_at")))  # fmt: skip
    assert after == before
    assert Order.objects.get().status == "refunded"


def test_the_sweep_job_wakes_what_the_apply_runs_missed() -> None:
    store(*anonymous_calls()[:1])
    run_jobs_until_idle()
    sweep = Job.objects.get(name=SWEEP_JOB, status=JobStatus.READY)
    assert sweep.run_after > timezone.now()  # in a minute, not now
    # linked without a tracking call (as by a person), so no apply run knows of it
    link_identity(customer=get_or_create_customer(external_id="u-1"), kind="anonymous_id",
                  value="a-1")  # fmt: skip
    apply_pending_messages()
    assert count_waiting_messages() == 1
    assert run_next_job(now=sweep.run_after).name == SWEEP_JOB
    assert Customer.objects.get(external_id="u-1").email == "ann@example.com"
    assert count_waiting_messages() == 0
    assert not Job.objects.filter(name=SWEEP_JOB, status=JobStatus.READY).exists()


def test_the_sweep_job_schedules_itself_again_while_anything_waits() -> None:
    store(*anonymous_calls()[:1])
    run_jobs_until_idle()
    sweep = Job.objects.get(name=SWEEP_JOB, status=JobStatus.READY)
    run_next_job(now=sweep.run_after)
    follower = Job.objects.get(name=SWEEP_JOB, status=JobStatus.READY)
    assert follower.pk != sweep.pk and follower.unique_key == SWEEP_JOB


def test_the_admin_lists_waiting_messages() -> None:
    store(make_track(messageId="m-refund", event="Order Refunded",
                     properties={"order_id": "o-9"}), make_track(messageId="m-event"))  # fmt: skip
    apply_pending_messages()
    store(make_track(messageId="m-later"))
    client = Client()
    client.force_login(make_user(role=Role.ADMIN, is_staff=True, is_superuser=True))
    for status, listed in (("waiting", ["m-refund"]), ("pending", ["m-later"])):
        response = client.get("/admin/ingest/message/", {"status": status})
        assert [m.message_id for m in response.context["cl"].result_list] == listed


def test_a_retried_message_wakes_what_it_resolves(capsys) -> None:
    store(make_order_completed(messageId="m-theirs", userId="u-9", order_id="o-1"),
          *anonymous_calls()[:1],
          make_order_completed(messageId="m-mine", userId="u-1", anonymousId="a-1",
                               order_id="o-1"))  # fmt: skip
    apply_pending_messages()
    assert state("m-mine")[2].startswith("Conflict: order 'o-1' belongs to customer 'u-9'")
    assert state("m-identify") == (False, "anonymous_id:a-1", "")  # its link was undone
    Order.objects.filter(external_id="o-1").delete()  # the fix
    assert main(["ingest", "retry", "m-mine"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1 failed message(s) retried (and 1 waiting message(s) they resolved): 2 applied, "
        "0 failed again; 0 failed in all"
    ]
    assert Customer.objects.get(external_id="u-1").email == "ann@example.com"


def test_a_refund_links_nothing_so_wakes_nothing() -> None:
    store(*anonymous_calls()[:1], make_order_completed(userId="u-1", order_id="o-5"))
    apply_pending_messages()
    store(make_track(userId="u-1", anonymousId="a-1", event="Order Refunded",
                     properties={"order_id": "o-5"}))  # fmt: skip
    result = apply_pending_messages()
    assert (result.applied, result.woken) == (1, 0)
    assert state("m-identify") == (False, "anonymous_id:a-1", "")
