"""``/imports/``: admins and analysts check a file (every problem, with its line), then import
that same saved file by its token; the history below, newest first, paged. Agents get 403."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from retain.customers.models import Order
from retain.ingest.import_history import Who
from retain.ingest.models import ImportOutcome, ImportRun, ImportVia
from retain.server.middleware import CONSOLE_UPLOAD, body_rule
from tests.console.builders import make_user, signed_in

pytestmark = pytest.mark.django_db(transaction=True)  # the check and import run in a child

ORDERS = b"customer_id,order_id,ordered_at,amount\nc1,o1,2026-01-05,10.50\nc2,o2,2026-01-06,3\n"
BAD = (
    b"customer_id,order_id,ordered_at,amount\n"
    b"c1,o1,2026-01-05,10.50\nc2,o2,soon,3\nc3,o3,2026-01-07,lots\n"
)


def check(client: Client, data: bytes, *, name: str = "orders.csv", **fields: str):
    form = {"kind": "orders", "decimal": ".", "timezone": "UTC", **fields,
            "file": SimpleUploadedFile(name, data, content_type="text/csv")}  # fmt: skip
    return client.post("/imports/check/", form)


def token_of(response) -> str:
    found = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert found, "no Import button"
    return found.group(1)


def uploads(home) -> list:
    return sorted((home / "uploads").glob("*.upload"))


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_admins_and_analysts_see_the_page_in_their_menu(role: str) -> None:
    response = signed_in(make_user(role)).get("/imports/")
    assert response.status_code == 200
    assert '<a href="/imports/" aria-current="page">Imports</a>' in response.content.decode()


def test_an_agent_is_refused_every_part_of_it() -> None:
    agent = signed_in(make_user("agent"))
    assert agent.get("/imports/").status_code == 403
    assert check(agent, ORDERS).status_code == 403
    assert agent.post("/imports/run/", {"token": "x"}).status_code == 403
    assert 'href="/imports/"' not in agent.get("/").content.decode()  # not in the menu
    assert not Order.objects.exists()


def test_a_bad_file_shows_every_problem_with_its_line_and_nothing_is_kept(
    own_upload_workspace,
) -> None:
    response = check(signed_in(make_user("analyst")), BAD)

    assert response.status_code == 200
    page = response.content.decode()
    assert "2 problems: nothing can be imported." in page
    assert "<strong>line 3</strong>: <code>customer_id</code> &quot;c2&quot;" in page
    assert "<code>amount</code> &quot;lots&quot;" in page and "<strong>line 4</strong>" in page
    assert 'name="token"' not in page  # no Import button
    assert not Order.objects.exists() and not ImportRun.objects.exists()
    assert uploads(own_upload_workspace) == []


def test_a_checked_file_is_imported_by_its_token_once(own_upload_workspace) -> None:
    ann = make_user("analyst")
    client = signed_in(ann)
    checked = check(client, ORDERS)
    assert "Orders: 2 rows read, no problem found." in checked.content.decode()
    assert len(uploads(own_upload_workspace)) == 1  # kept for the import
    token = token_of(checked)

    imported = client.post("/imports/run/", {"token": token})

    run = ImportRun.objects.get()
    assert imported.status_code == 302
    assert imported["Location"] == f"/imports/?run={run.pk}#outcome"
    assert (run.outcome, run.via, run.actor, run.user_id, run.created) == (
        ImportOutcome.IMPORTED, ImportVia.CONSOLE, ann.username, ann.pk, 2
    )  # fmt: skip
    assert Order.objects.count() == 2 and uploads(own_upload_workspace) == []
    outcome = client.get(imported["Location"]).content.decode()
    assert "Orders imported: 2 rows, 2 created, 0 updated, 0 unchanged." in outcome
    again = client.post("/imports/run/", {"token": token})
    assert again.status_code == 410 and ImportRun.objects.count() == 1


def test_another_users_token_and_a_forged_one_are_refused() -> None:
    token = token_of(check(signed_in(make_user("analyst")), ORDERS))
    other = signed_in(make_user("admin"))

    assert other.post("/imports/run/", {"token": token}).status_code == 403
    assert other.post("/imports/run/", {"token": token[:-2] + "xx"}).status_code == 410
    assert not Order.objects.exists() and not ImportRun.objects.exists()


def test_the_reading_options_are_the_commands_and_a_bad_pair_names_its_field() -> None:
    client = signed_in(make_user("analyst"))
    semicolons = b"customer_id;order_id;Date;amount\n007;A/1;05/03/2024;1.234,50\n"

    refused = check(client, semicolons, delimiter=";", decimal=",", thousands=",")
    assert refused.status_code == 400
    assert "The thousands separator cannot be the decimal mark." in refused.content.decode()

    checked = check(client, semicolons, delimiter=";", decimal=",", thousands=".",
                    date_order="day_first", ordered_at="Date")  # fmt: skip
    client.post("/imports/run/", {"token": token_of(checked)})
    order = Order.objects.get()
    assert (str(order.amount), order.ordered_at.date().isoformat()) == ("1234.50", "2024-03-05")
    assert order.customer.external_id == "007"


def test_the_forms_need_their_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("analyst"))
    assert check(client, ORDERS).status_code == 403
    assert client.post("/imports/run/", {"token": "x"}).status_code == 403


def test_the_history_is_paged_newest_first_and_pages_alone_for_htmx() -> None:
    who = Who(via=ImportVia.API, actor="loader")
    for number in range(25):
        run = ImportRun.objects.create(kind="orders", file_name=f"f{number:02d}.csv", via=who.via,
                                       actor=who.actor, started_at=timezone.now())  # fmt: skip
        ImportRun.objects.filter(pk=run.pk).update(
            started_at=timezone.now() + timezone.timedelta(minutes=number)
        )
    client = signed_in(make_user("admin"))

    first = client.get("/imports/").content.decode()
    second = client.get("/imports/?page=2", headers={"HX-Request": "true"}).content.decode()

    assert re.findall(r"f\d\d\.csv", first) == [f"f{n:02d}.csv" for n in range(24, 4, -1)]
    assert re.findall(r"f\d\d\.csv", second) == [f"f{n:02d}.csv" for n in range(4, -1, -1)]
    assert "<h1>" not in second and 'rel="prev"' in second and 'rel="next"' not in second


def test_an_upload_to_the_page_has_the_uploads_body_limit(settings) -> None:
    assert reverse("ingest:check") == CONSOLE_UPLOAD
    assert body_rule(CONSOLE_UPLOAD).limit == settings.RETAIN_UPLOAD_LIMIT
    assert body_rule("/imports/").limit == settings.RETAIN_BODY_LIMIT
