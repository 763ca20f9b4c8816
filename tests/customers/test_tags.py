"""Tags and traits a journey or the operator sets: tags added and taken off many customers at
once in a fixed number of statements, idempotent, each addition and trait change recorded as
a domain event; bad names and values refused naming the tag or trait; the 360 shows the tags.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from retain.customers.models import Customer, CustomerTag, DomainEvent
from retain.customers.queries import get_customer_360
from retain.customers.services import (
    TAG_ADDED,
    TRAIT_CHANGED,
    add_tags,
    remove_tags,
    set_trait,
)
from retain.errors import DataError, NotFound
from tests.console.builders import signed_in
from tests.customers.builders import MOMENT, make_customer, make_tag

pytestmark = pytest.mark.django_db
AT = MOMENT + dt.timedelta(days=3)


def tags_of(customer: Customer) -> set[str]:
    return set(CustomerTag.objects.filter(customer=customer).values_list("name", flat=True))


def events(name: str) -> list[tuple[int, dict, dt.datetime]]:
    rows = DomainEvent.objects.filter(name=name).order_by("id")
    return list(rows.values_list("customer_id", "data", "occurred_at"))


def test_every_customer_gets_every_tag_and_the_count_says_how_many_were_added() -> None:
    first, second, untouched = make_customer(), make_customer(), make_customer()
    added = add_tags([first.pk, second.pk], ["vip", "welcome-done"], at=AT)
    assert added == 4
    assert tags_of(first) == tags_of(second) == {"vip", "welcome-done"}
    assert tags_of(untouched) == set()
    assert set(CustomerTag.objects.values_list("created_at", flat=True)) == {AT}


def test_tagging_again_adds_nothing_and_records_no_second_event() -> None:
    had_vip, new = make_customer(), make_customer()
    make_tag(had_vip, name="vip", created_at=MOMENT)
    assert add_tags([had_vip.pk, new.pk, new.pk], ["vip", "vip"], at=AT) == 1
    assert add_tags([had_vip.pk, new.pk], ["vip"], at=AT) == 0
    assert CustomerTag.objects.get(customer=had_vip).created_at == MOMENT  # left as it was
    assert events(TAG_ADDED) == [(new.pk, {"tag": "vip"}, AT)]


def test_each_tag_added_is_recorded_as_a_domain_event_in_the_same_transaction() -> None:
    first, second = make_customer(), make_customer()
    add_tags([second.pk, first.pk], ["b", "a"], at=AT)
    assert events(TAG_ADDED) == [
        (first.pk, {"tag": "a"}, AT), (first.pk, {"tag": "b"}, AT),
        (second.pk, {"tag": "a"}, AT), (second.pk, {"tag": "b"}, AT),
    ]  # fmt: skip


def test_tags_are_kept_exactly_as_given_case_and_script_included() -> None:
    customer = make_customer()
    longest = "ลูกค้าประจำ" * 5 + "ลูกค้าประจำ"[:9]  # 64 characters, more bytes than that
    assert len(longest) == 64
    assert add_tags([customer.pk], ["VIP", "vip", "Ελένη-φίλη", longest], at=AT) == 4
    assert tags_of(customer) == {"VIP", "vip", "Ελένη-φίλη", longest}


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("", "is not empty"),
        (" vip", "no space at either end"),
        ("vip\u00a0", "no space at either end"),
        ("v" * 65, "at most 64 characters, not 65"),
        ("a\x00b", "control character"),
        ("two\nlines", "control character"),
        ("\ud800x", "lone surrogate"),
        (7, "text, not int"),
    ],
)
def test_a_bad_tag_name_is_refused_naming_it_and_nothing_is_added(name: object, said: str) -> None:
    customer = make_customer()
    with pytest.raises(DataError) as refused:
        add_tags([customer.pk], ["fine", name], at=AT)  # type: ignore[list-item]
    assert f"tag {name!r}" in refused.value.message and said in refused.value.message
    assert refused.value.details["example"] == name
    assert CustomerTag.objects.count() == 0 and DomainEvent.objects.count() == 0
    with pytest.raises(DataError, match=re.escape(said)):
        remove_tags([customer.pk], [name])  # type: ignore[list-item]


def test_the_count_of_bad_tag_names_is_given_with_the_first() -> None:
    with pytest.raises(DataError, match=r"tag ' a' refused: .*\(2 of the 3 tag names given"):
        add_tags([make_customer().pk], [" a", "b", "c "], at=AT)


def test_one_text_instead_of_a_list_of_names_is_refused_not_spelled_out() -> None:
    customer = make_customer()
    with pytest.raises(DataError, match=re.escape("not one text: write ['vip']")):
        add_tags([customer.pk], "vip", at=AT)
    assert tags_of(customer) == set()


def test_a_key_of_no_customer_is_refused_with_the_count_and_nothing_is_added() -> None:
    customer = make_customer()
    ghost = customer.pk + 1000
    with pytest.raises(NotFound) as refused:
        add_tags([customer.pk, ghost], ["vip"], at=AT)
    assert f"1 of the 2 customer keys given are no customer's, e.g. {ghost}" in str(refused.value)
    assert CustomerTag.objects.count() == 0


@pytest.mark.parametrize("key", [True, "12", 0, -3, 2**63, 1.0])
def test_a_value_that_is_no_customer_key_is_refused(key: object) -> None:
    with pytest.raises(DataError, match=r"customer_ids: 1 of 1 values are not customer keys"):
        add_tags([key], ["vip"], at=AT)  # type: ignore[list-item]


def test_nothing_to_tag_adds_nothing() -> None:
    assert add_tags([], ["vip"], at=AT) == 0
    assert add_tags([make_customer().pk], [], at=AT) == 0
    assert CustomerTag.objects.count() == 0


def test_thousands_of_customers_are_tagged_in_three_statements(
    django_assert_num_queries,
) -> None:
    Customer.objects.bulk_create(Customer(external_id=f"many-{n:05d}") for n in range(3000))
    keys = list(Customer.objects.values_list("pk", flat=True))
    with django_assert_num_queries(3):  # check the keys, insert the tags, insert the events
        assert add_tags(keys, ["vip", "spring-sale"], at=AT) == 6000
    assert DomainEvent.objects.filter(name=TAG_ADDED).count() == 6000
    with django_assert_num_queries(1):
        assert remove_tags(keys, ["spring-sale", "never-set"]) == 3000
    assert CustomerTag.objects.filter(name="vip").count() == 3000


def test_removing_takes_off_only_the_named_tags_of_the_named_customers() -> None:
    first, second, other = make_customer(), make_customer(), make_customer()
    for customer in (first, second, other):
        make_tag(customer, name="vip")
        make_tag(customer, name="welcome-done")
    assert remove_tags([first.pk, second.pk, first.pk + 1000], ["vip", "VIP"]) == 2
    assert tags_of(first) == tags_of(second) == {"welcome-done"}
    assert tags_of(other) == {"vip", "welcome-done"}
    assert remove_tags([first.pk, second.pk], ["vip"]) == 0


def test_setting_a_trait_keeps_the_others_and_records_the_change() -> None:
    customer = make_customer(traits={"plan": "gold", "pets": 2})
    assert set_trait(customer.pk, "last_gift", "mug", at=AT) is True
    assert set_trait(customer.pk, "plan", "silver", at=AT) is True
    customer.refresh_from_db()
    assert customer.traits == {"plan": "silver", "pets": 2, "last_gift": "mug"}
    assert events(TRAIT_CHANGED) == [
        (customer.pk, {"trait": "last_gift", "from": None, "to": "mug"}, AT),
        (customer.pk, {"trait": "plan", "from": "gold", "to": "silver"}, AT),
    ]


def test_setting_a_trait_to_the_value_it_has_changes_nothing_but_another_type_does() -> None:
    customer = make_customer(traits={"count": 1, "note": None})
    assert set_trait(customer.pk, "count", 1, at=AT) is False
    assert set_trait(customer.pk, "note", None, at=AT) is False
    assert set_trait(customer.pk, "count", True, at=AT) is True  # true is not 1 in JSON
    assert set_trait(customer.pk, "absent", None, at=AT) is True  # now set, to null
    customer.refresh_from_db()
    assert customer.traits == {"count": True, "note": None, "absent": None}
    assert [data["trait"] for _, data, _ in events(TRAIT_CHANGED)] == ["count", "absent"]


@pytest.mark.parametrize(
    "value", ["", "ลูกค้า", "x" * 1000, 0, -(2**63), 2**63 - 1, 2.5, -0.0, True, False, None]
)
def test_a_trait_keeps_any_value_the_rule_allows_as_given(value: object) -> None:
    customer = make_customer()
    set_trait(customer.pk, "kept", value, at=AT)
    customer.refresh_from_db()
    assert customer.traits["kept"] == value and type(customer.traits["kept"]) is type(value)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("1plan", "x", "trait name '1plan' refused"),
        ("a b", "x", "trait name 'a b' refused"),
        ("p" * 65, "x", "trait name 'ppp"),
        ("", "x", "trait name '' refused"),
        ("score", float("nan"), "trait 'score' refused: a number is finite, not nan"),
        ("score", float("inf"), "trait 'score' refused: a number is finite, not inf"),
        ("score", 2**63, "fits in 64 bits"),
        ("note", "a\x00b", "trait 'note' refused: a text holds no NUL"),
        ("note", "\udfff", "lone surrogate"),
        ("note", "x" * 1001, "at most 1,000 characters, not 1,001"),
        ("items", [1, 2], "not list"),
        ("items", {"a": 1}, "not dict"),
        ("day", dt.date(2024, 1, 1), "not date"),
        ("email", "a@example.com", "trait 'email' refused: identify files it"),
        ("unsubscribed", True, "trait 'unsubscribed' refused: identify files it"),
    ],
)
def test_a_bad_trait_is_refused_naming_it_and_nothing_changes(
    name: str, value: object, said: str
) -> None:
    customer = make_customer(traits={"plan": "gold"})
    with pytest.raises(DataError) as refused:
        set_trait(customer.pk, name, value, at=AT)
    assert said in refused.value.message
    customer.refresh_from_db()
    assert customer.traits == {"plan": "gold"} and DomainEvent.objects.count() == 0


def test_a_trait_for_no_customer_is_refused() -> None:
    with pytest.raises(NotFound, match="no customer with key 999999"):
        set_trait(999_999, "plan", "gold", at=AT)
    with pytest.raises(DataError, match="'c-1'"):
        set_trait("c-1", "plan", "gold", at=AT)  # type: ignore[arg-type]


def test_the_360_reads_the_tags_sorted_within_the_customer_query() -> None:
    tagged = make_customer(external_id="tagged")
    make_customer(external_id="bare")
    add_tags([tagged.pk], ["welcome-done", "VIP", "birthday-2024"], at=AT)
    assert get_customer_360("tagged").tag_names == ["VIP", "birthday-2024", "welcome-done"]
    assert get_customer_360("bare", recent_events=False).tag_names == []


def test_the_360_page_shows_the_customer_s_tags_or_says_there_are_none() -> None:
    tagged = make_customer(external_id="tagged")
    make_customer(external_id="bare")
    add_tags([tagged.pk], ["vip", "welcome-done", "<b>bold</b>"], at=AT)
    client = signed_in()
    with translation.override("en"):
        page = client.get("/customers/tagged/").content.decode()
        empty = client.get("/customers/bare/").content.decode()
    shown = re.search(r'<h2 id="tags-title">Tags</h2>\s*<ul[^>]*>(.*?)</ul>', page, re.S)
    assert shown is not None
    assert re.findall(r'<span class="tag">(.*?)</span>', shown.group(1)) == [
        "&lt;b&gt;bold&lt;/b&gt;", "vip", "welcome-done",
    ]  # fmt: skip
    assert "No journey or person has tagged this customer." in empty
    assert "No journey or person has tagged this customer." not in page


def test_tags_go_with_their_customer() -> None:
    customer = make_customer()
    add_tags([customer.pk], ["vip"], at=AT)
    customer.delete()
    assert CustomerTag.objects.count() == 0
