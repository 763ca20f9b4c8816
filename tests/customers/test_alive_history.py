"""A customer's P(alive) over their history: the last rescoring's model, as it kept it,
evaluated on the customer's own order days; it only falls between orders and ends at the
stored score."""

from __future__ import annotations

import datetime as dt

import altair as alt
import numpy as np
import pytest

from retain.customers.alive_history import MAX_POINTS, p_alive_history
from retain.customers.charts import alive_chart
from retain.customers.models import RescoringRun, Score
from retain.customers.profile import order_facts, scoring_run
from retain.customers.rescoring import rescore_customers
from retain.scoring import CANDIDATES
from tests.console.builders import signed_in
from tests.customers.builders import load_business, make_customer, make_order, make_score

END = dt.date(2024, 12, 31)
NOW = dt.datetime(2025, 1, 1, 3, tzinfo=dt.UTC)
PARAMS = {
    "BG/NBD": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
    "MBG/NBD": {"r": 0.5, "alpha": 20.0, "a": 0.9, "b": 3.0},
    "Pareto/NBD": {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},
}


def _run(model: str = "BG/NBD", as_of: dt.date = END) -> RescoringRun:
    return RescoringRun(finished_at=NOW, succeeded=True, as_of=as_of, model=model,
                        model_params=PARAMS[model])  # fmt: skip


def _days(*days: str) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(day) for day in days)


@pytest.mark.parametrize("model", sorted(PARAMS))
def test_p_alive_only_falls_between_orders_and_each_order_lifts_it(model: str) -> None:
    days = _days("2024-01-10", "2024-02-01", "2024-02-20", "2024-06-15")
    history = p_alive_history(days, _run(model))
    assert history is not None
    points = history.points
    assert points[0].day == days[0] and points[-1].day == END
    assert [p.day for p in points] == sorted({p.day for p in points})  # one point a day at most
    assert {p.day for p in points if p.ordered} == set(days)
    alive = np.array([p.p_alive for p in points])
    assert np.all((alive >= 0) & (alive <= 1))
    stretches = np.cumsum([p.ordered for p in points])  # a new stretch starts at each order
    for stretch in np.unique(stretches):
        inside = alive[stretches == stretch]
        assert np.all(np.diff(inside) <= 1e-12), f"P(alive) rose between orders ({model})"
        if stretch > 1:  # a repeat buyer's chance falls as they stay silent
            assert inside[-1] < inside[0]
    for day in days[1:]:  # the day of an order is above the day before it
        before = next(p for p in points if p.day == day - dt.timedelta(days=1))
        on = next(p for p in points if p.day == day)
        # (under BG/NBD a one-time buyer is alive for sure until the coin's first toss)
        assert on.p_alive > before.p_alive or before.p_alive == 1.0


def test_the_history_is_the_models_own_prediction_at_each_day() -> None:
    days = _days("2024-01-10", "2024-03-01")
    history = p_alive_history(days, _run("Pareto/NBD"))
    assert history is not None
    model = CANDIDATES["Pareto/NBD"].from_params(**PARAMS["Pareto/NBD"])
    for point in history.points:
        age = float((point.day - days[0]).days)
        repeat = point.day >= days[1]
        summary = {"frequency": [float(repeat)], "recency": [51.0 if repeat else 0.0], "T": [age]}
        expected = float(model.probability_alive(summary)[0])
        assert point.p_alive == pytest.approx(expected, abs=1e-12), point.day


def test_nothing_to_trace_without_a_model_kept_or_an_order_by_then() -> None:
    days = _days("2024-01-10", "2024-03-01")
    assert p_alive_history(days, None) is None
    old = RescoringRun(finished_at=NOW, succeeded=True)  # recorded before runs kept models
    assert p_alive_history(days, old) is None
    assert p_alive_history(days, _run(as_of=dt.date(2023, 12, 31))) is None
    later = p_alive_history(days + _days("2025-02-01"), _run())
    assert later is not None and later.points[-1].day == END  # orders after as_of are unseen


def test_a_long_history_is_drawn_with_a_bounded_number_of_points() -> None:
    days = tuple(dt.date(2015, 1, 1) + dt.timedelta(days=9 * n) for n in range(400))
    history = p_alive_history(days, _run())
    assert history is not None and len(history.points) == MAX_POINTS
    assert history.points[0].day == days[0] and history.points[-1].day == END
    alive = [point.p_alive for point in history.points]
    assert alive[-1] < max(alive)  # silent since 2024-11-04: it fell
    few = p_alive_history(days[:50], _run())
    assert few is not None and len(few.points) <= 200 + 2 * 50 + 1


def test_the_chart_spec_is_valid_vega_lite_with_its_rows() -> None:
    history = p_alive_history(_days("2024-01-10", "2024-03-01"), _run())
    assert history is not None
    spec = alive_chart(history)
    alt.LayerChart.from_dict(spec)  # Altair validates it against the Vega-Lite schema
    assert alive_chart(history) == spec  # the cached spec is not changed by a call


def test_the_chart_spec_draws_the_line_and_the_orders() -> None:
    history = p_alive_history(_days("2024-01-10", "2024-03-01"), _run())
    assert history is not None
    spec = alive_chart(history)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "point"]
    values = spec["data"]["values"]
    assert values[0] == {"day": "2024-01-10", "p_alive": 1.0, "ordered": True}
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0, 1]


@pytest.mark.django_db
def test_a_rescoring_keeps_its_model_and_the_history_ends_at_the_stored_score() -> None:
    load_business(300, seed=3)
    summary = rescore_customers(as_of=END, now=NOW)
    run = scoring_run()
    assert run is not None and run.as_of == END and run.model == summary.model
    assert set(run.model_params) == set(CANDIDATES[run.model].param_names)
    assert run.model_params == pytest.approx(summary.model_params)
    repeat_buyers = Score.objects.select_related("customer").filter(
        expected_purchases_365d__gt=0.5
    )[:15]
    assert len(repeat_buyers) == 15
    for score in repeat_buyers:
        history = p_alive_history(order_facts(score.customer).days, run)
        assert history is not None
        assert history.points[-1].p_alive == pytest.approx(score.p_alive, abs=2e-6)


@pytest.mark.django_db
def test_the_360_page_draws_the_history_when_the_last_rescoring_kept_its_model() -> None:
    customer = make_customer(external_id="traced")
    for day in ("2024-01-10", "2024-02-01", "2024-06-15"):
        make_order(customer, ordered_at=dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC))
    make_score(customer)
    client = signed_in()
    RescoringRun.objects.create(finished_at=NOW, succeeded=True)  # an old run: no model kept
    page = client.get("/customers/traced/").content.decode()
    assert 'id="chart-alive"' not in page and "No history to draw" in page
    _run().save()
    RescoringRun.objects.create(finished_at=NOW, succeeded=False, reason="too short")
    page = client.get("/customers/traced/").content.decode()
    assert 'id="chart-alive" type="application/json"' in page
    assert 'data-chart="chart-alive" role="img"' in page
    assert "vega-lite.min.js" in page
