"""``retain journeys report|preview|simulate`` and ``GET /api/v1/journeys/{key}/report``:
the JSON fields outside checks rely on, tables for people, and clear refusals (exit 2, 404)
for an unknown journey or a period given backwards."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client

from retain.cli import main
from retain.customers.models import Customer
from retain.journeys.models import Enrolment, Journey
from retain.messaging.models import Message
from tests.accounts.builders import make_api_key
from tests.customers.builders import make_customer, make_order
from tests.journeys.builders import apply_journey

pytestmark = pytest.mark.django_db

ENTERED = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)
EMAIL = {"email": {"en": {"subject": "Thanks {{ customer.first_name }}",
                          "html": "<p>Order {{ order.id }} is on its way.</p>"},
                   "th": {"subject": "ขอบคุณ {{ customer.first_name }}",
                          "html": "<p>คำสั่งซื้อ {{ order.id }}</p>"}}}  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["journeys", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _thanks() -> None:
    apply_journey(
        "thanks", trigger={"event": "Order Completed", "first_order": True}, topic="orders",
        goal={"event": "Order Completed", "within_days": 14}, holdout=0.1, steps=[EMAIL],
    )  # fmt: skip


def _enrol(customer: Customer, *, held_out: bool, bought: Decimal | None) -> None:
    """An enrolment that entered at ``ENTERED``; ``bought`` is an order placed 3 days later."""
    journey = Journey.objects.get(key="thanks")
    Enrolment.objects.create(
        journey=journey, version=journey.current, customer=customer, held_out=held_out,
        entry_key=f"order:{customer.pk}", entered_at=ENTERED, active=False, outcome="completed",
    )  # fmt: skip
    if bought is not None:
        make_order(customer, ordered_at=ENTERED + dt.timedelta(days=3), amount=bought)


@pytest.fixture
def reported() -> None:
    """Four treated customers (two came back within the goal's 14 days, one after them) and
    two held out (none came back)."""
    _thanks()
    for bought in (Decimal("40"), Decimal("20"), None, None):
        _enrol(make_customer(), held_out=False, bought=bought)
    late = make_customer()
    _enrol(late, held_out=False, bought=None)
    make_order(late, ordered_at=ENTERED + dt.timedelta(days=20), amount=Decimal("99"))
    for _ in range(2):
        _enrol(make_customer(), held_out=True, bought=None)


def test_report_json_has_the_fields_outside_checks_rely_on(reported: None, capsys) -> None:
    code, out, err = run(capsys, "report", "thanks", "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert (report["enrolled"], report["held_out"], report["converted"]) == (7, 2, 2)
    assert report["conversion_rate"] == pytest.approx(2 / 7)
    assert report["treatment"]["enrolled"] == 5 and report["treatment"]["converted"] == 2
    assert report["treatment"]["revenue_per_customer"] == pytest.approx(60 / 5)
    assert report["holdout"]["conversion_rate"] == 0
    uplift = report["uplift"]
    assert uplift["estimate"] == pytest.approx(2 / 5)
    assert uplift["low"] < uplift["estimate"] < uplift["high"]
    assert report["window_days"] == 14


def test_report_for_people_is_a_table_with_the_uplift(reported: None, capsys) -> None:
    code, out, _ = run(capsys, "report", "thanks")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "thanks: Journey thanks (revenue and goal within 14 days of entering)"
    assert lines[1].split() == ["treatment", "holdout"]
    assert lines[2].split() == ["enrolled", "5", "2"]
    assert lines[3].split() == ["converted", "2", "0"]
    assert lines[4].split() == ["conversion", "rate", "40.0%", "0.0%"]
    assert lines[5].split() == ["revenue", "per", "customer", "12.00", "0.00"]
    assert lines[7].startswith("uplift (conversion rate): +40.0 pts (95 % interval ")
    assert any(line.startswith("incremental revenue: +60.00") for line in lines)


def test_report_of_an_unknown_journey_is_refused_with_exit_code_2(capsys) -> None:
    code, out, err = run(capsys, "report", "no-such-journey")
    assert (code, out) == (2, "")
    assert err.strip() == "error [not_found]: no journey with the key 'no-such-journey'"


def test_preview_prints_each_email_rendered_for_the_customer(capsys) -> None:
    _thanks()
    customer = make_customer(name="Somchai Jaidee", traits={"locale": "th"})
    make_order(customer, external_id="Z-9", ordered_at=ENTERED)
    code, out, _ = run(capsys, "preview", "thanks", "--customer", customer.external_id)
    assert code == 0
    assert out.splitlines()[:4] == [
        "--- step step-1 (marketing, topic orders, th) ---",
        f"To: {customer.email}", "Subject: ขอบคุณ Somchai", "",
    ]  # fmt: skip
    assert "คำสั่งซื้อ Z-9" in out
    code, out, _ = run(capsys, "preview", "thanks", "--customer", customer.external_id, "--json")
    (step,) = json.loads(out)
    assert (step["step"], step["subject"], step["to"]) == ("step-1", "ขอบคุณ Somchai",
                                                          customer.email)  # fmt: skip
    assert "Z-9" in step["html"] and "Z-9" in step["text"]
    assert not Message.objects.exists()


def test_preview_for_an_unknown_customer_says_which(capsys) -> None:
    _thanks()
    code, _, err = run(capsys, "preview", "thanks", "--customer", "nobody")
    assert code == 2 and "nobody" in err


def test_simulate_prints_the_figures_and_stores_nothing(capsys) -> None:
    _thanks()
    Journey.objects.filter(key="thanks").update(status="active")
    for day in range(3):
        make_order(make_customer(), ordered_at=ENTERED + dt.timedelta(days=day))
    code, out, err = run(capsys, "simulate", "--from", "2026-02-01", "--to", "2026-02-28",
                         "--json", "--sample", "2")  # fmt: skip
    assert (code, err) == (0, "")
    figures = json.loads(out)
    assert (figures["from"], figures["to"]) == ("2026-02-01T00:00:00+00:00",
                                                "2026-03-01T00:00:00+00:00")  # fmt: skip
    (journey,) = figures["journeys"]
    assert journey["key"] == "thanks" and journey["entered"] == 3
    assert journey["messages"] == 3 == journey["queued"] + journey["held_out"]
    assert journey["steps"][0]["step"] == "step-1"
    assert len(figures["samples"]) == min(2, journey["queued"])
    code, out, _ = run(capsys, "simulate", "--from", "2026-02-01", "--to", "2026-02-28")
    assert code == 0
    assert out.startswith("Simulated 2026-02-01 to 2026-02-28 (28 days, 672 steps of the clock)")
    assert "nothing was stored or sent" in out.splitlines()[0]
    header = out.splitlines()[2].split()
    assert header[:5] == ["journey", "entered", "holdout", "converted", "errors"]
    assert "What the simulation approximates:" in out
    assert not Enrolment.objects.exists() and not Message.objects.exists()


def test_simulate_refuses_a_period_given_backwards_or_an_unknown_journey(capsys) -> None:
    _thanks()
    code, _, err = run(capsys, "simulate", "--from", "2026-02-10", "--to", "2026-02-01")
    assert code == 2
    assert "--to 2026-02-01 is before --from 2026-02-10" in err
    code, _, err = run(capsys, "simulate", "--from", "2026-02-01", "--to", "2026-02-02",
                       "--journey", "nothing")  # fmt: skip
    assert code == 2 and "no journey with the key 'nothing'" in err
    with pytest.raises(SystemExit) as refused:
        main(["journeys", "simulate", "--from", "2026-02-01", "--to", "2026-02-02",
              "--sample", "-3"])  # fmt: skip
    assert refused.value.code == 2
    assert "'-3' is not a number of messages" in capsys.readouterr().err


def test_the_report_over_the_api_is_the_same_json(reported: None, capsys) -> None:
    _, plain = make_api_key("read", name="bi")
    client = Client(headers={"Authorization": f"Bearer {plain}"})
    response = client.get("/api/v1/journeys/thanks/report")
    assert response.status_code == 200, response.content
    assert response.json() == json.loads(run(capsys, "report", "thanks", "--json")[1])
    missing = client.get("/api/v1/journeys/nothing/report")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert Client().get("/api/v1/journeys/thanks/report").status_code == 401
