"""Audience filters: the SQL the database runs and the Python a journey runs for one customer
choose the same customers, over customers with and without scores, traits of every JSON
type (null too), consents granted, refused or never given, and tags (none, one, several,
names differing only in case); a bad filter is refused with the path of its bad part."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from retain.customers.audiences import audience_q, check_filter, matches
from retain.customers.models import Customer, CustomerTag
from retain.errors import DataError
from tests.customers.builders import (
    MOMENT,
    make_consent,
    make_customer,
    make_event,
    make_order,
    make_score,
    make_tag,
)

pytestmark = pytest.mark.django_db

STAGES = ("new", "active", "at risk", "lapsed")
#: The moment ages are counted to.
NOW = MOMENT + dt.timedelta(days=400)
TRAIT_VALUES = ("gold", "silver", "1", 1, 2.5, True, False, None)
#: Tags the varied customers carry, two differing only in case.
TAG_NAMES = ("vip", "VIP", "welcome-done", "spring-sale")


def varied_customers(count: int = 40) -> list[Customer]:
    """Customers unlike each other: scored or not, traits of each JSON type or absent,
    email consent granted, refused or never given, no tag or some."""
    chosen = random.Random(7)
    made = []
    for number in range(count):
        traits = {}
        if number % 3:
            traits["plan"] = TRAIT_VALUES[number % len(TRAIT_VALUES)]
        if number % 4 == 1:
            traits["city"] = chosen.choice(["Hanoi", "Athens", "Jakarta"])
        customer = make_customer(
            traits=traits, acquisition_channel=chosen.choice(["search", "social", ""]),
            segment=chosen.choice(["", "vip"]),
        )  # fmt: skip
        if number % 5:
            make_score(
                customer, p_alive=chosen.random(), clv_12m=chosen.uniform(0, 500),
                value_decile=chosen.randint(1, 10), lifecycle_stage=chosen.choice(STAGES),
                churn_risk=chosen.choice(["low", "medium", "high"]),
            )  # fmt: skip
        if number % 3 == 0:
            make_consent(customer, channel="email", granted=bool(number % 2))
        for name in chosen.sample(TAG_NAMES, chosen.choice([0, 0, 1, 2, 3])):
            make_tag(customer, name=name)
        for _ in range(number % 4):  # none to three orders, and as many events, in 400 days
            make_order(customer, ordered_at=NOW - dt.timedelta(days=chosen.uniform(0, 400)))
            make_event(customer, occurred_at=NOW - dt.timedelta(days=chosen.randint(0, 400)))
        made.append(Customer.objects.select_related("score").get(pk=customer.pk))
    return made


def random_filter(chosen: random.Random, depth: int = 0) -> dict[str, Any]:
    """A well-formed filter drawn at random: nested all/any/not over every kind of leaf."""
    if depth < 3 and chosen.random() < 0.45:
        kind = chosen.choice(["all", "any", "not"])
        if kind == "not":
            return {"not": random_filter(chosen, depth + 1)}
        return {kind: [random_filter(chosen, depth + 1) for _ in range(chosen.randint(1, 3))]}
    leaves = [
        {"field": "p_alive", chosen.choice(["lt", "lte", "gt", "gte"]): round(chosen.random(), 2)},
        {"field": "value_decile", chosen.choice(["eq", "ne", "gte", "lt"]): chosen.randint(1, 10)},
        {"field": "clv_12m", "gt": chosen.uniform(0, 500)},
        {"field": "lifecycle_stage", chosen.choice(["eq", "ne"]): chosen.choice(STAGES)},
        {"field": "lifecycle_stage", "in": chosen.sample(STAGES, 2)},
        {"field": "churn_risk", "exists": chosen.random() < 0.5},
        {"field": "acquisition_channel", chosen.choice(["eq", "ne"]): "search"},
        {"field": "segment", "eq": chosen.choice(["", "vip"])},
        {"field": "traits.plan", chosen.choice(["eq", "ne"]): chosen.choice(["gold", "1"])},
        {"field": "traits.plan", "in": ["gold", "silver", "true"]},
        {"field": "traits.plan", "exists": chosen.random() < 0.5},
        {"field": "traits.city", "eq": "Athens"},
        {"field": "consent.email", chosen.choice(["eq", "ne"]): chosen.random() < 0.5},
        {"field": "consent.email", "exists": chosen.random() < 0.5},
        {
            "field": "days_since_last_order",
            chosen.choice(["lt", "lte", "gt", "gte"]): chosen.choice(
                [chosen.uniform(0, 400), chosen.randint(0, 400)]
            ),
        },
        {"field": "days_since_last_activity", chosen.choice(["lt", "gte"]): chosen.randint(0, 400)},
        {"field": "days_since_last_order", "exists": chosen.random() < 0.5},
        {"field": "tags", chosen.choice(["eq", "ne"]): chosen.choice([*TAG_NAMES, "never-set"])},
        {"field": "tags", "in": chosen.sample([*TAG_NAMES, "never-set"], chosen.randint(1, 3))},
        {"field": "tags", "exists": chosen.random() < 0.5},
    ]
    return chosen.choice(leaves)


def in_database(spec: dict[str, Any]) -> set[int]:
    return set(Customer.objects.filter(audience_q(spec, now=NOW)).values_list("pk", flat=True))


def in_python(spec: dict[str, Any], customers: list[Customer]) -> set[int]:
    return {customer.pk for customer in customers if matches(spec, customer, now=NOW)}


def tags_of(customers: list[Customer]) -> dict[int, set[str]]:
    """Each customer's tag names, read in one query (as a journey run would prefetch them)."""
    found: dict[int, set[str]] = {customer.pk: set() for customer in customers}
    for key, name in CustomerTag.objects.values_list("customer_id", "name"):
        found[key].add(name)
    return found


def test_sql_and_python_choose_the_same_customers_for_300_random_filters() -> None:
    customers = varied_customers()
    chosen = random.Random(11)
    sizes = set()
    tags = tags_of(customers)
    for _ in range(300):
        spec = random_filter(chosen)
        found = in_database(spec)
        assert found == in_python(spec, customers), spec
        given = {c.pk for c in customers if matches(spec, c, now=NOW, tags=tags[c.pk])}
        assert found == given, spec
        sizes.add(len(found))
    assert len(sizes) > 10  # the filters chose audiences of many sizes, not all or nothing


def test_tags_choose_who_has_the_tag_any_of_them_or_any_at_all_exactly_as_written() -> None:
    vip, both, welcomed, bare = make_customer(), make_customer(), make_customer(), make_customer()
    make_tag(vip, name="vip")
    make_tag(both, name="vip")
    make_tag(both, name="welcome-done")
    make_tag(welcomed, name="welcome-done")
    make_tag(welcomed, name="VIP")
    everyone = [vip, both, welcomed, bare]
    expected = [
        ({"field": "tags", "eq": "vip"}, {vip.pk, both.pk}),
        ({"field": "tags", "eq": "VIP"}, {welcomed.pk}),
        ({"field": "tags", "ne": "vip"}, {welcomed.pk, bare.pk}),
        ({"field": "tags", "in": ["welcome-done", "never-set"]}, {both.pk, welcomed.pk}),
        ({"field": "tags", "exists": True}, {vip.pk, both.pk, welcomed.pk}),
        ({"field": "tags", "exists": False}, {bare.pk}),
        ({"all": [{"field": "tags", "eq": "vip"},
                  {"not": {"field": "tags", "eq": "welcome-done"}}]}, {vip.pk}),
    ]  # fmt: skip
    for spec, chosen in expected:
        assert in_database(spec) == chosen, spec
        assert in_python(spec, everyone) == chosen, spec


def test_tags_given_at_hand_are_used_and_not_read_again(django_assert_num_queries) -> None:
    customer = make_customer()
    make_tag(customer, name="vip")
    spec = {"field": "tags", "eq": "vip"}
    with django_assert_num_queries(0):
        assert matches(spec, customer, tags=["vip"])
        assert not matches(spec, customer, tags=set())  # what the caller gives is what counts
    with django_assert_num_queries(1):
        assert matches(spec, customer)


def test_a_filter_of_at_risk_valuable_customers_who_may_be_emailed() -> None:
    wanted = make_customer(traits={"plan": "gold"})
    make_score(wanted, p_alive=0.2, value_decile=9)
    make_consent(wanted, channel="email", granted=True)
    refused = make_customer()
    make_score(refused, p_alive=0.2, value_decile=9)
    make_consent(refused, channel="email", granted=False)
    alive = make_customer()
    make_score(alive, p_alive=0.9, value_decile=9)
    unscored = make_customer()
    spec = {"all": [{"field": "p_alive", "lt": 0.3}, {"field": "value_decile", "gte": 8},
                    {"not": {"field": "consent.email", "eq": False}}]}  # fmt: skip
    assert in_database(spec) == {wanted.pk}
    everyone = [Customer.objects.get(pk=c.pk) for c in (wanted, refused, alive, unscored)]
    assert in_python(spec, everyone) == {wanted.pk}


def test_ages_count_days_since_the_latest_order_and_activity_and_none_without_any() -> None:
    lapsed, recent, never = make_customer(), make_customer(), make_customer()
    make_order(lapsed, ordered_at=NOW - dt.timedelta(days=200))
    make_order(lapsed, ordered_at=NOW - dt.timedelta(days=120))
    make_order(recent, ordered_at=NOW - dt.timedelta(days=3))
    make_event(never, occurred_at=NOW - dt.timedelta(days=1))
    assert in_database({"field": "days_since_last_order", "gt": 90}) == {lapsed.pk}
    assert in_database({"field": "days_since_last_order", "lte": 120}) == {lapsed.pk, recent.pk}
    assert in_database({"not": {"field": "days_since_last_order", "lt": 90}}) == {
        lapsed.pk, never.pk,
    }  # fmt: skip
    assert in_database({"field": "days_since_last_activity", "lt": 2}) == {never.pk}
    assert matches({"field": "days_since_last_order", "gt": 119.5}, lapsed, now=NOW)
    assert not matches({"field": "days_since_last_order", "gt": 0}, never, now=NOW)


def test_no_value_satisfies_no_comparison_and_ne_is_not_eq() -> None:
    unscored = make_customer(traits={"plan": None})
    assert in_database({"field": "p_alive", "lt": 1}) == set()
    assert in_database({"field": "lifecycle_stage", "ne": "active"}) == {unscored.pk}
    assert in_database({"field": "traits.plan", "exists": True}) == {unscored.pk}
    assert matches({"field": "traits.plan", "exists": True}, unscored)
    assert not matches({"field": "traits.plan", "eq": "gold"}, unscored)


@pytest.mark.parametrize(
    ("spec", "path", "expected"),
    [
        ([], "filter", "a filter is an object"),
        ({"all": []}, "filter", "all takes a non-empty list"),
        ({"any": [{"field": "p_alive", "lt": "high"}]}, "filter.any[0].lt", "a number"),
        ({"not": {"field": "p_alivee", "lt": 1}}, "filter.not.field", "a known field"),
        ({"field": "lifecycle_stage", "lt": "b"}, "filter.lt", "compared for equality"),
        ({"field": "traits.plan", "eq": 1}, "filter.eq", "a string"),
        ({"field": "value_decile", "eq": 8.5}, "filter.eq", "a whole number"),
        ({"field": "p_alive", "lt": float("nan")}, "filter.lt", "a number"),
        ({"field": "p_alive", "lt": 1, "gt": 0}, "filter", "exactly one operator"),
        ({"field": "consent.fax", "eq": True}, "filter.field", "a known field"),
        ({"field": "traits.a b", "eq": "x"}, "filter.field", "a known field"),
        ({"field": "lifecycle_stage", "in": []}, "filter.in", "a non-empty list"),
        ({"field": "churn_risk", "exists": "yes"}, "filter.exists", "true or false"),
        ({"field": "days_since_last_order", "eq": 30}, "filter.eq", "a number of days"),
        ({"field": "days_since_last_order", "gt": -1}, "filter.gt", "a number of days"),
        ({"field": "days_since_last_order", "gt": 1e12}, "filter.gt", "a number of days"),
        ({"all": [{"field": "p_alive", "lt": 1}], "any": []}, "filter", "nothing beside it"),
        ({"field": "tags", "eq": " vip"}, "filter.eq", "no space at either end"),
        ({"field": "tags", "ne": ""}, "filter.ne", "a tag name is not empty"),
        ({"field": "tags", "eq": "v" * 65}, "filter.eq", "at most 64 characters"),
        ({"field": "tags", "eq": "a\x00b"}, "filter.eq", "control character"),
        ({"field": "tags", "eq": 7}, "filter.eq", "a tag name is text, not int"),
        ({"field": "tags", "in": ["vip", "ok", "b\nad"]}, "filter.in[2]", "control character"),
        ({"field": "tags", "lt": "vip"}, "filter.lt", "a tag name with eq, ne or in"),
        ({"field": "tags", "exists": "vip"}, "filter.exists", "true or false"),
        ({"field": "tag", "eq": "vip"}, "filter.field", "tags, traits.<name>"),
    ],
)
def test_a_bad_filter_is_refused_with_the_path_of_its_bad_part(
    spec: Any, path: str, expected: str
) -> None:
    with pytest.raises(DataError) as refused:
        check_filter(spec)
    assert refused.value.details["field"] == path
    assert expected in refused.value.message


def test_a_filter_nested_too_deeply_is_refused() -> None:
    spec: dict[str, Any] = {"field": "p_alive", "lt": 1}
    for _ in range(20):
        spec = {"not": spec}
    with pytest.raises(DataError, match="nested deeper than 16 levels"):
        audience_q(spec)
