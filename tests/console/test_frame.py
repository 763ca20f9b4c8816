"""The console's frame: sign-in and sign-out, who may open what, languages, the guards."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from retain.accounts.models import LoginFailure
from retain.accounts.throttle import login_throttle
from retain.console.frame import navigation_for, page
from tests.console.builders import PASSWORD, make_user, signed_in

pytestmark = pytest.mark.django_db


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back() -> None:
    client = Client()
    response = client.get("/customers/?q=ann")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/customers/%3Fq%3Dann"
    user = make_user()
    response = client.post(
        "/login/", {"username": user.username, "password": PASSWORD, "next": "/customers/?q=ann"}
    )
    assert (response.status_code, response["Location"]) == (302, "/customers/?q=ann")
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_and_counted() -> None:
    user = make_user()
    response = Client().post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 400
    assert "The username or the password is wrong." in response.content.decode()
    assert LoginFailure.objects.filter(username=user.username).count() == 1


def test_sign_in_is_throttled_even_for_the_right_password() -> None:
    user = make_user()
    client = Client()
    for _ in range(login_throttle.limit):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get("/").status_code == 302  # still signed out


def test_sign_in_never_sends_a_user_to_another_site() -> None:
    user = make_user()
    response = Client().post(
        "/login/", {"username": user.username, "password": PASSWORD, "next": "https://evil.test/"}
    )
    assert response["Location"] == "/"


def test_the_sign_in_form_needs_its_csrf_token() -> None:
    user = make_user()
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
    page_html = client.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page_html).group(1)
    response = client.post(
        "/login/", {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_signing_out_takes_a_post_and_ends_the_session() -> None:
    client = signed_in()
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_a_page_for_some_roles_refuses_the_others_with_a_page_that_says_so() -> None:
    @page(roles=frozenset({"admin"}))
    def admins_only(request):
        return HttpResponse("the secret")

    factory = RequestFactory()
    for role, status in (("admin", 200), ("analyst", 403), ("agent", 403)):
        request = factory.get("/settings/")
        request.user = make_user(role)
        request.LANGUAGE_CODE = "en"
        response = admins_only(request)
        assert response.status_code == status
        assert ("the secret" in response.content.decode()) == (status == 200)


def test_a_deactivated_user_is_signed_out_at_once() -> None:
    user = make_user()
    client = signed_in(user)
    assert client.get("/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/").status_code == 302


def test_the_menu_holds_the_pages_of_every_domain_with_the_current_one_marked() -> None:
    links = navigation_for("agent", "/customers/cust-1/")
    assert [link.url for link in links][:2] == ["/", "/customers/"]
    assert [link.url for link in links if link.current] == ["/customers/"]


def test_the_browser_language_is_spoken_before_sign_in() -> None:
    response = Client(headers={"accept-language": "th,en;q=0.5"}).get("/login/")
    assert response.headers["Content-Language"] == "th"
    assert "เข้าสู่ระบบ" in response.content.decode()
    assert '<html lang="th">' in response.content.decode()


def test_a_users_chosen_language_is_kept_on_the_account_and_wins_over_the_browser() -> None:
    user = make_user()
    client = signed_in(user, headers={"accept-language": "vi"})
    assert client.get("/").headers["Content-Language"] == "vi"
    response = client.post("/language/", {"language": "el", "next": "/customers/"})
    assert response["Location"] == "/customers/"
    user.refresh_from_db()
    assert user.language == "el"
    other_browser = signed_in(user, headers={"accept-language": "id"})
    home = other_browser.get("/")
    assert home.headers["Content-Language"] == "el"
    assert "Επισκόπηση" in home.content.decode()


def test_an_unknown_language_changes_nothing() -> None:
    user = make_user()
    signed_in(user).post("/language/", {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == ""


def test_console_pages_carry_no_inline_script_under_a_strict_policy() -> None:
    client = signed_in()
    for path in ("/", "/customers/", "/login/"):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "unsafe" not in policy
        scripts = re.findall(r"<script([^>]*)>", response.content.decode())
        assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)
