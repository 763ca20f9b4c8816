"""The search's parameters are bounded before the database sees them: a page number past
:data:`MAX_PAGE` or text holding a NUL byte made PostgreSQL (NUL) or both engines (a 64-bit
row offset) fail with a 500; now each is a 422 problem naming the parameter."""

from __future__ import annotations

import pytest
from django.test import Client

from retain.customers.queries import MAX_PAGE, get_customer_360, search_customers
from retain.errors import NotFound, RuleViolation
from tests.accounts.builders import make_api_key
from tests.customers.builders import make_customer

pytestmark = pytest.mark.django_db

TEXT_PARAMETERS = ("q", "lifecycle_stage", "rfm_segment", "acquisition_channel", "segment")


@pytest.fixture
def reader() -> Client:
    _, plain = make_api_key("read")
    return Client(headers={"Authorization": f"Bearer {plain}"})


def _refused_parameters(response) -> list[list[str]]:
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    return [error["loc"] for error in response.json()["errors"]]


@pytest.mark.parametrize("page", [MAX_PAGE + 1, 9223372036854775807, 2**70])
def test_a_page_past_the_last_allowed_is_a_422_naming_page(reader: Client, page: int) -> None:
    make_customer()
    response = reader.get("/api/v1/customers", {"page": page, "page_size": 200})
    assert _refused_parameters(response) == [["query", "page"]]
    assert response.json()["errors"][0]["ctx"] == {"le": MAX_PAGE}


def test_the_last_allowed_page_answers_empty(reader: Client) -> None:
    make_customer()
    body = reader.get("/api/v1/customers", {"page": MAX_PAGE, "page_size": 200}).json()
    assert (body["items"], body["total"], body["page"]) == ([], 1, MAX_PAGE)


@pytest.mark.parametrize("name", TEXT_PARAMETERS)
def test_text_with_a_nul_byte_is_a_422_naming_the_parameter(reader: Client, name: str) -> None:
    make_customer(name="a\tb")
    response = reader.get("/api/v1/customers", {name: "a\x00b"})
    assert _refused_parameters(response) == [["query", name]]


def test_a_customer_id_with_a_nul_byte_is_not_found(reader: Client) -> None:
    make_customer(external_id="cust-1")
    response = reader.get("/api/v1/customers/cust-1%00")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["customer_id"] == "cust-1\x00"


def test_the_search_itself_refuses_a_page_out_of_range() -> None:
    with pytest.raises(
        RuleViolation, match=f"page must be between 1 and {MAX_PAGE}; got "
    ) as raised:
        search_customers("", page=MAX_PAGE + 1)
    assert raised.value.details["field"] == "page"


@pytest.mark.parametrize(("query", "filters", "field"), [
    ("a\x00", {}, "q"), ("", {"segment": "vip\x00"}, "segment"),
    ("", {"churn_risk": "high\x00"}, "churn_risk"),
])  # fmt: skip
def test_the_search_itself_refuses_a_nul_byte(query: str, filters: dict, field: str) -> None:
    with pytest.raises(RuleViolation, match=f"^{field} must not contain a NUL byte") as raised:
        search_customers(query, filters=filters)
    assert raised.value.details["field"] == field


def test_the_360_of_an_id_with_a_nul_byte_is_not_found() -> None:
    make_customer(external_id="cust-1")
    with pytest.raises(NotFound, match="no customer with id 'cust-1\\\\x00'"):
        get_customer_360("cust-1\x00")
