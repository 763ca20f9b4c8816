"""Message templates: rendered in the reader's language with their money and dates, checked
once against a sample customer, and kept in a sandbox.

No database: rendering is a pure module. The expected strings are Babel's (CLDR) for the five
languages retain ships, written out so a change of Babel's data shows here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from retain.errors import ConfigError, DataError
from retain.messaging.rendering import (
    CONTEXT_FIELDS,
    LOCALES,
    MAX_OUTPUT_CHARS,
    RenderedMessage,
    TemplateProblem,
    check_content,
    choose_variant,
    customer_context,
    first_name_of,
    message_locale,
    render_message,
    sample_context,
    text_from_html,
)

NBSP = "\xa0"
NNBSP = "\u202f"
PLACED_AT = dt.datetime(2024, 3, 9, 14, 5, tzinfo=dt.UTC)


def text_of(template: str, context: dict | None = None, *, locale: str = "en", **kw) -> str:
    """The text part of an unlocalised message, so formatting follows ``locale``."""
    content = {"subject": "Subject", "text": template}
    return render_message(content, context or {}, locale=locale, **kw).text


def problem_of(content: dict, context: dict | None = None) -> TemplateProblem:
    with pytest.raises(TemplateProblem) as caught:
        check_content(content, context)
    return caught.value


# -- money, numbers and dates in each language --------------------------------------------


@pytest.mark.parametrize(
    ("locale", "baht", "euro", "dong"),
    [
        ("en", "THB1,234.00", "€1,234.00", "₫1,250,000"),
        ("th", "฿1,234.00", "€1,234.00", "₫1,250,000"),
        ("vi", f"1.234,00{NBSP}฿", f"1.234,00{NBSP}€", f"1.250.000{NBSP}₫"),
        ("el", f"1.234,00{NBSP}฿", f"1.234,00{NBSP}€", f"1.250.000{NBSP}₫"),
        ("id", "฿1.234,00", "€1.234,00", "₫1.250.000"),
    ],
)
def test_money_is_written_as_each_language_writes_it(locale, baht, euro, dong):
    """The brief's own examples: ฿1,234.00 in Thai, 1.234,00 € in Greek; dong without
    decimals, because the currency has none."""
    context = {"order": {"total": Decimal("1234"), "currency": "THB"}}
    template = (
        "{{ order.total | money(order.currency) }}|{{ 1234 | money('EUR') }}|"
        "{{ money(1250000, 'VND') }}"
    )
    assert text_of(template, context, locale=locale) == f"{baht}|{euro}|{dong}"


@pytest.mark.parametrize(
    ("locale", "medium", "long", "moment"),
    [
        ("en", "Mar 9, 2024", "March 9, 2024", f"Mar 9, 2024, 9:05:00{NNBSP}PM"),
        ("th", "9 มี.ค. 2024", "9 มีนาคม ค.ศ. 2024", "9 มี.ค. 2024 21:05:00"),
        ("vi", "9 thg 3, 2024", "9 tháng 3, 2024", "21:05:00 9 thg 3, 2024"),
        ("el", "9 Μαρ 2024", "9 Μαρτίου 2024", f"9 Μαρ 2024, 9:05:00{NNBSP}μ.μ."),  # noqa: RUF001
        ("id", "9 Mar 2024", "9 Maret 2024", "9 Mar 2024 21.05.00"),
    ],
)
def test_dates_and_times_are_written_as_each_language_writes_them(locale, medium, long, moment):
    """A date, a long date and a moment shown in the shop's time zone (14:05 UTC is 21:05
    in Bangkok)."""
    template = "{{ order.placed_at | date }}|{{ order.placed_at | date('long') }}|" + (
        "{{ order.placed_at | datetime }}"
    )
    context = {"order": {"placed_at": PLACED_AT}}
    text = text_of(template, context, locale=locale, time_zone="Asia/Bangkok")
    assert text == f"{medium}|{long}|{moment}"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "1,234,567.891|1,234.50|43%|42.7%"),
        ("th", "1,234,567.891|1,234.50|43%|42.7%"),
        ("vi", "1.234.567,891|1.234,50|43%|42,7%"),
        ("el", "1.234.567,891|1.234,50|43%|42,7%"),
        ("id", "1.234.567,891|1.234,50|43%|42,7%"),
    ],
)
def test_numbers_and_percentages_follow_the_language(locale, expected):
    """``percent`` takes a fraction, as ``scores.p_alive`` is one."""
    template = (
        "{{ 1234567.891 | number }}|{{ 1234.5 | number(2) }}|{{ p | percent }}|{{ p | percent(1) }}"
    )
    assert text_of(template, {"p": 0.4267}, locale=locale) == expected


@pytest.mark.parametrize("amount", [Decimal("1234.5"), 1234.5, "1234.50", " 1234.5 "])
def test_money_takes_the_numbers_a_context_holds(amount):
    """Decimals from the store, floats from the scores, text from an event's properties."""
    assert text_of("{{ a | money('EUR') }}", {"a": amount}) == "€1,234.50"
    assert text_of("{{ 7 | money('EUR') }}") == "€7.00"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("abc", "'abc' (text)"), ([1, 2], "a list"), (True, "true (a yes/no value)")],
)
def test_money_refuses_what_is_not_a_number_and_says_what_it_got(value, shown):
    """An email that prints a list where money belongs is worse than one not sent."""
    problem = problem_of({"subject": "s", "text": "Total:\n{{ v | money('EUR') }}"}, {"v": value})
    assert problem.message.startswith(f"text, line 2: money: expected a number, got {shown}")


def test_money_without_a_currency_uses_the_shop_s_and_refuses_an_unknown_one():
    """Orders imported without a currency have an empty one: the shop's applies."""
    context = {"shop": {"currency": "THB"}, "order": {"total": 99, "currency": ""}}
    assert text_of("{{ order.total | money(order.currency) }}", context, locale="th") == "฿99.00"
    problem = problem_of({"subject": "s", "text": "{{ 5 | money('BAHT') }}"}, {})
    assert "unknown currency 'BAHT'" in problem.reason
    problem = problem_of({"subject": "s", "text": "{{ 5 | money }}"}, {})
    assert "money: no currency" in problem.reason


def test_dates_take_dates_datetimes_and_iso_text_in_the_shop_s_zone():
    """An order at 23:30 UTC was placed on the next day in Bangkok."""
    late = dt.datetime(2024, 3, 9, 23, 30, tzinfo=dt.UTC)
    template = "{{ a | date }}|{{ b | date }}|{{ c | date }}|{{ d | datetime('short') }}"
    context = {"a": dt.date(2024, 3, 9), "b": late, "c": "2024-03-09", "d": "2024-03-09T23:30Z"}
    text = text_of(template, context, time_zone="Asia/Bangkok")
    assert text == f"Mar 9, 2024|Mar 10, 2024|Mar 9, 2024|3/10/24, 6:30{NNBSP}AM"


def test_dates_refuse_what_is_not_a_date_and_datetime_refuses_a_bare_day():
    """A day has no time of day to show; text that is not a date is named as it was given."""
    problem = problem_of({"subject": "s", "text": "{{ v | date }}"}, {"v": "yesterday"})
    assert "date: expected a date or a date and time" in problem.reason
    assert "'yesterday' (text)" in problem.reason
    problem = problem_of({"subject": "s", "text": "{{ v | datetime }}"}, {"v": dt.date(2024, 1, 2)})
    assert "2024-01-02 is a day without a time: use the date filter" in problem.reason


def test_a_value_the_store_does_not_have_prints_as_nothing():
    """A birthday never given is not "None" in an email."""
    context = {"customer": {"birthday": None, "name": None}}
    assert text_of("[{{ customer.birthday | date }}|{{ customer.name }}]", context) == "[|]"


def test_an_unknown_time_zone_is_a_configuration_error():
    """The zone is the shop's setting, not the template's: a configuration error."""
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        text_of("x", time_zone="Mars/Olympus")


# -- variants ----------------------------------------------------------------------------

CONTENT = {
    "en": {"subject": "Hello", "html": "<p>{{ order.total | money(order.currency) }}</p>"},
    "th": {"subject": "สวัสดี", "html": "<p>{{ order.total | money(order.currency) }}</p>"},
    "vi-VN": {"subject": "Xin chào", "text": "{{ order.total | money(order.currency) }}"},
}


@pytest.mark.parametrize(
    ("locale", "variant"),
    [
        ("th-TH", "th"),  # the language when the region has no variant of its own
        ("th_th", "th"),
        ("TH", "th"),
        ("vi-VN", "vi-VN"),  # the exact locale
        ("vi", "vi-VN"),  # another region of the same language
        ("el", "en"),  # English when the language has no variant
        ("xx-YY", "en"),  # a locale Babel does not know: English, no crash
        ("", "en"),
        (None, "en"),
    ],
)
def test_the_variant_is_the_reader_s_locale_then_language_then_english(locale, variant):
    """The rule in the module's docstring, case by case; no locale ever crashes."""
    assert choose_variant(CONTENT, locale).key == variant


def test_without_english_the_first_variant_given_is_the_default():
    """A Thai shop that writes Thai and Indonesian sends Thai to everyone else."""
    content = {"th": {"subject": "a", "text": "a"}, "id": {"subject": "b", "text": "b"}}
    assert choose_variant(content, "el").key == "th"


def test_money_and_dates_follow_the_words_of_the_variant_sent():
    """A th-TH reader of the Thai variant gets Thai formats; a Greek reader of the English
    variant gets English ones, not a Greek amount inside an English sentence."""
    context = {"order": {"total": Decimal("1234"), "currency": "EUR"}}
    thai = render_message(CONTENT, context, locale="th-TH")
    greek = render_message(CONTENT, context, locale="el")
    assert (thai.variant, thai.locale, thai.html) == ("th", "th-TH", "<p>€1,234.00</p>")
    assert (greek.variant, greek.locale, greek.html) == ("en", "en", "<p>€1,234.00</p>")
    vietnamese = render_message(CONTENT, context, locale="vi")
    assert (vietnamese.locale, vietnamese.html, vietnamese.text) == (
        "vi",
        None,
        f"1.234,00{NBSP}€",
    )


def test_unlocalised_content_is_formatted_in_the_reader_s_locale():
    """One version written for a shop's own customers: their formats, whatever the words."""
    content = {"subject": "{{ 1234 | money('EUR') }}", "text": "x"}
    message = render_message(content, {}, locale="el-GR")
    assert message == RenderedMessage(
        subject=f"1.234,00{NBSP}€", html=None, text="x", locale="el-GR", variant=None
    )
    assert message_locale("nonsense") == "en"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"en": {"html": "<p>x</p>"}}, "en.subject: a message needs a subject"),
        ({"en": {"subject": "x"}}, "en: a message needs an html or a text part (or both)"),
        ({"th": {"subject": "x", "body": "y"}}, "th: unknown part(s) 'body'"),
        ({"english": {"subject": "x", "text": "y"}}, "content: 'english' is not a locale"),
        ({"en": {"subject": 5, "text": "y"}}, "en.subject: expected a template (text), got int"),
        ({"en": "Hello"}, "en: expected subject, html and text, got str"),
        ([], "content: expected a message"),
    ],
)
def test_content_that_is_not_a_message_is_refused_where_it_is_wrong(content, message):
    """The author reads which variant and which part to fix."""
    with pytest.raises(TemplateProblem) as caught:
        choose_variant(content, "en")
    assert caught.value.message.startswith(message)


# -- escaping, lines and plain text ------------------------------------------------------


def test_a_customer_s_name_is_escaped_in_html_and_left_alone_in_text():
    """Names come from outside (the tracking door): in HTML they are text, never markup."""
    context = sample_context("en")
    context["customer"]["name"] = "<script>alert('x')</script>"
    content = {
        "subject": "For {{ customer.name }}",
        "html": '<p title="{{ customer.name }}">Hi {{ customer.name }}</p>',
        "text": "Hi {{ customer.name }}",
    }
    message = render_message(content, context, locale="en")
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    assert message.html == f'<p title="{escaped}">Hi {escaped}</p>'
    assert message.text == "Hi <script>alert('x')</script>"
    assert message.subject == "For <script>alert('x')</script>"


def test_escaping_cannot_be_turned_off_and_safe_is_not_there():
    """Both would print a customer's value as markup; the error says what may be used."""
    problem = problem_of({"subject": "s", "html": "{% autoescape false %}x{% endautoescape %}"})
    assert problem.reason == "syntax error: a message template cannot turn escaping off or on"
    problem = problem_of({"subject": "s", "html": "a\n{{ customer.name | safe }}"})
    assert problem.line == 2
    assert "No filter named 'safe'" in problem.reason
    assert "a message may use: abs," in problem.reason


def test_the_subject_is_one_line():
    """A template laid out over lines, or a value with a line break (a header injection),
    still makes one subject line."""
    context = {"customer": {"first_name": "Lan\r\nBcc: victim@example.com"}}
    content = {"subject": "Hello\n  {{ customer.first_name }},\r\n\n our news", "text": "x"}
    message = render_message(content, context, locale="en")
    assert message.subject == "Hello Lan Bcc: victim@example.com, our news"


def test_a_subject_empty_once_rendered_is_refused():
    """A message without a subject is set aside with the reason, not sent blank."""
    content = {"subject": "{{ customer.first_name }}", "text": "x"}
    with pytest.raises(TemplateProblem, match="subject: the subject is empty once rendered"):
        render_message(content, {"customer": {"first_name": ""}}, locale="en")


def test_the_text_part_is_read_from_the_html_with_its_links():
    """Readers of the text part cannot click "Return to your cart": they get the address."""
    html = """<html><head><title>News</title><style>p {color: red}</style></head><body>
    <div style="display: none">Preheader</div>
    <h1>Hello {{ customer.first_name }}</h1>
    <p>Your cart: {{ order.total | money(order.currency) }} &amp; more.</p>
    <ul>
      <li>Shoes</li>
      <li>Socks</li>
    </ul>
    <p><a href="https://shop.example.com/cart?a=1&amp;b=2">Return to your cart</a> or
    visit <a href="https://shop.example.com/">https://shop.example.com</a>.<br>
    <img src="logo.png" alt="Example Shop"></p>
    <p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
    <script>track()</script></body></html>"""
    message = render_message({"subject": "s", "html": html}, sample_context("el"), locale="el")
    assert message.text == (
        "Hello Ελένη\n"
        "\n"
        f"Your cart: 86,50{NBSP}€ & more.\n"
        "\n"
        "- Shoes\n"
        "- Socks\n"
        "\n"
        "Return to your cart (https://shop.example.com/cart?a=1&b=2) or visit "
        "https://shop.example.com.\n"
        "Example Shop\n"
        "\n"
        "Unsubscribe (https://shop.example.com/email/unsubscribe/sample-token)"
    )


def test_text_from_html_keeps_a_link_without_words_and_drops_page_anchors():
    """A linked logo still leaves its address; a link within the page means nothing in text."""
    html = '<p><a href="https://a.example/x"><img src="x.png"></a> <a href="#top">top</a></p>'
    assert text_from_html(html) == "https://a.example/x top"


# -- errors with the part, the line and the variable -------------------------------------


def test_an_undefined_variable_names_itself_its_line_and_its_part():
    content = {
        "en": {"subject": "Hi", "text": "ok"},
        "th": {"subject": "สวัสดี", "html": "<p>\n{{ customer.first_name }}\n{{ orders.total }}</p>"},
    }
    problem = problem_of(content)
    assert (problem.locale, problem.part, problem.line, problem.variable) == (
        "th",
        "html",
        3,
        "orders",
    )
    assert problem.message.startswith("th.html, line 3: 'orders' is undefined")
    assert "(a template may use customer, event, journey, order" in problem.message
    assert problem.code == "template_problem"
    assert isinstance(problem, DataError)


def test_a_field_a_part_does_not_have_is_named_with_the_fields_it_has():
    """Jinja would say 'dict object' has no attribute: the author needs the part's name."""
    problem = problem_of({"subject": "{{ customer.nickname }}", "text": "x"})
    assert problem.message == (
        "subject, line 1: customer has no 'nickname' (it has: acquisition_channel, birthday, "
        "email, external_id, first_name, name, segment, signed_up_at, traits)"
    )
    assert problem.variable == "customer.nickname"


def test_reading_an_order_the_customer_does_not_have_names_the_order():
    """Missing optional parts are None in the context; a template that reads one fails
    naming it, and one that asks first works."""
    context = customer_context({"name": "Lan"}, locale="vi")
    assert context["order"] is None
    with pytest.raises(TemplateProblem) as caught:
        render_message({"subject": "s", "text": "\n{{ order.total }}"}, context, locale="vi")
    assert caught.value.message == (
        "text, line 2: order.total: there is no order for this customer; put it inside "
        "{% if order %} ... {% endif %}"
    )
    assert caught.value.variable == "order"
    template = (
        "{% if order %}{{ order.total }}{% else %}none yet{% endif %}|{{ order is none }}|"
        "{{ order is defined }}|{{ order == none }}"
    )
    assert text_of(template, context) == "none yet|True|False|True"
    with pytest.raises(TemplateProblem, match="text, line 1: order: there is no order"):
        render_message({"subject": "s", "text": "{{ order }}"}, context, locale="vi")


def test_a_syntax_error_names_its_line():
    """Syntax errors are found when the journey is applied, with the line to fix."""
    problem = problem_of({"vi": {"subject": "s", "text": "a\nb\n{% if customer %}c"}})
    assert problem.place == "vi.text, line 3"
    assert problem.reason.startswith("syntax error: Unexpected end of template")


def test_check_content_reports_every_problem_at_once():
    """An author fixes a document in one pass, not one error per apply."""
    content = {
        "en": {"subject": "{{ nope }}", "text": "fine"},
        "th": {"subject": "ok", "text": "{% for %}"},
    }
    problem = problem_of(content)
    assert [(p.locale, p.part) for p in problem.problems] == [("en", "subject"), ("th", "text")]
    assert "(and 1 more problem(s): th.text, line 1: syntax error" in problem.message


def test_check_content_passes_content_that_renders():
    """Against each variant's own sample by default, or against the context given."""
    content = {"en": {"subject": "Hi {{ customer.first_name }}", "html": "<p>{{ shop.name }}</p>"}}
    check_content(content)
    check_content(content, sample_context("th"))


# -- the sandbox and its bounds ----------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ customer.__class__ }}",
        "{{ customer.__class__.__mro__ }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ customer.get.__globals__ }}",
        "{{ customer._data }}",
    ],
)
def test_templates_cannot_reach_python_s_internals(template):
    """The classic ways out of a template (``__class__``, ``__globals__``) are refused."""
    problem = problem_of({"subject": "s", "text": template})
    assert problem.reason.startswith("not allowed: access to attribute")
    assert "is unsafe" in problem.reason


def test_templates_cannot_change_what_they_were_given_nor_grow_lists():
    """Parts are read-only records; lists a template makes cannot be appended to (a way to
    build values past the bounds)."""
    problem = problem_of({"subject": "s", "text": "{{ customer.traits.update({'plan': 'x'}) }}"})
    assert problem.reason == "customer.traits has no 'update' (it has: city, newsletter, plan)"
    problem = problem_of({"subject": "s", "text": "{% set l = [] %}{{ l.append(l) }}"})
    assert problem.reason == (
        "not allowed: access to attribute 'append' of 'list' object is unsafe."
    )


def test_templates_cannot_include_or_import_others():
    """Templates come as strings with no loader: say so when the template is checked."""
    for statement in ("{% include 'a' %}", "{% extends 'a' %}", "{% import 'a' as a %}"):
        problem = problem_of({"subject": "s", "text": statement})
        assert problem.reason.startswith("syntax error: a message template cannot")


def test_a_template_that_writes_without_end_is_stopped_at_the_output_bound():
    """Two million characters asked for; the rendering stops at the bound with the reason."""
    template = "{% for i in range(100000) %}{{ '0123456789' * 2 }}{% endfor %}"
    problem = problem_of({"subject": "s", "html": template})
    assert problem.reason == (
        f"the template wrote more than {MAX_OUTPUT_CHARS:,} characters: look for a loop that "
        f"does not end"
    )


def test_nested_loops_that_write_nothing_are_stopped_by_the_step_budget():
    """The output bound cannot see loops that write nothing; the step budget does."""
    template = "{% for a in range(100000) %}\n{% for b in range(100000) %}{% endfor %}{% endfor %}"
    problem = problem_of({"subject": "s", "text": template})
    assert problem.reason == (
        "the loops took more than 100,000 steps in all: look for loops inside loops"
    )
    assert problem.line == 2


def test_reading_a_long_value_over_and_over_is_stopped_by_the_work_budget():
    """Few steps, small output, no value past the bound, yet 100 million characters read;
    and the slow filters count for more, so a few calls to urlize on long text end too."""
    template = "{% set s = 'x' * 1000000 %}{% for i in range(100) %}{{ s | length }}{% endfor %}"
    problem = problem_of({"subject": "s", "text": template})
    assert problem.reason.startswith(
        "the template did more work than a message may take (it read more than 20,000,000"
    )
    template = "{% set s = 'x ' * 500000 %}{% for i in range(3) %}{{ s | urlize }}{% endfor %}"
    problem = problem_of({"subject": "s", "text": template})
    assert problem.reason.startswith("the template did more work than a message may take")


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ 'x' * 10**9 }}", "repeating a value would make a value of 1,000,000,000"),
        ("{{ 'x' | center(10**9) }}", "center would make a value of 1,000,000,000"),
        ("{{ 'ab' | replace('', 'x' * 900000) }}", "replace would make a value of 2,700,002"),
        ("{{ '%999999s' % 1 }}", "the format '%999999s' asks for a field wider than 10,000"),
        ("{{ '{:>99999999}'.format(1) }}", "the format '{:>99999999}' asks for a field wider"),
        ("{{ 2 ** 10000000 }}", "a number of about 10,000,000 bits is beyond what a message"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "the template calls itself"),
    ],
)
def test_a_value_too_large_to_build_is_refused_before_it_is_built(template, reason):
    """Checked before the value exists, so the sender never holds a gigabyte string."""
    assert problem_of({"subject": "s", "text": template}).reason.startswith(reason)


def test_a_record_s_own_keys_come_before_its_methods():
    """An event property named ``items`` is the property, not ``dict.items``."""
    context = {"event": {"properties": {"items": 3, "total": "9.50"}}}
    assert text_of("{{ event.properties.items }} {{ event.properties.get('total') }}", context) == (
        "3 9.50"
    )


# -- contexts ----------------------------------------------------------------------------


def test_sample_context_has_every_field_a_template_may_use():
    """Every field filled, so a template that checks against the sample reads only fields
    that exist, and none of them is missing from the sample by accident."""
    context = sample_context("th")
    assert set(context) == {*CONTEXT_FIELDS, "unsubscribe_url", "preferences_url"}
    for part, fields in CONTEXT_FIELDS.items():
        assert set(context[part]) == set(fields)
        assert all(context[part][name] is not None for name in fields), part


def test_the_sample_renders_a_realistic_template_in_all_five_languages():
    """One win-back email per language, checked and rendered as a preview would."""
    body = (
        "<p>{greeting} {{{{ customer.first_name }}}},</p>"
        "<p>{{{{ order.placed_at | date('long') }}}}: "
        "{{{{ order.total | money(order.currency) }}}} ({{{{ order.item_count }}}})</p>"
        "{{% if scores.churn_risk == 'high' %}}"
        "<p>{{{{ scores.p_alive | percent }}}}</p>{{% endif %}}"
        '<p><a href="{{{{ shop.url }}}}">{{{{ shop.name }}}}</a></p>'
        '<p><a href="{{{{ unsubscribe_url }}}}">x</a></p>'
    )
    greetings = {"en": "Hi", "th": "สวัสดี", "vi": "Chào", "el": "Γεια σου", "id": "Halo"}  # noqa: RUF001
    content = {
        locale: {"subject": f"{greeting} {{{{ customer.first_name }}}}", "html": body.format(
            greeting=greeting
        )}
        for locale, greeting in greetings.items()
    }  # fmt: skip
    check_content(content)
    expected = {
        "en": ("Hi Alex", "March 9, 2024: $128.40 (3)", "42%"),
        "th": ("สวัสดี สมหญิง", "9 มีนาคม ค.ศ. 2024: ฿1,234.00 (3)", "42%"),
        "vi": ("Chào Lan", f"9 tháng 3, 2024: 1.250.000{NBSP}₫ (3)", "42%"),
        "el": ("Γεια σου Ελένη", f"9 Μαρτίου 2024: 86,50{NBSP}€ (3)", "42%"),  # noqa: RUF001
        "id": ("Halo Siti", "9 Maret 2024: Rp350.000 (3)", "42%"),
    }
    for locale in LOCALES:
        message = render_message(content, sample_context(locale), locale=locale)
        subject, order_line, p_alive = expected[locale]
        assert message.subject == subject
        assert f"<p>{order_line}</p>" in message.html
        assert f"<p>{p_alive}</p>" in message.html
        assert "Example Shop (https://shop.example.com)" in message.text


def test_customer_context_fills_every_field_and_refuses_others():
    """Same shape as the sample: fields not given are None, parts not given are None, and a
    field the sample does not have is refused so the two never drift."""
    context = customer_context(
        {"external_id": "C-1", "name": "Nguyễn Thị Lan", "email": "lan@example.com"},
        order={"id": "A-1", "total": Decimal("10"), "currency": "VND"},
        locale="vi-VN",
    )
    assert context["customer"]["first_name"] == "Lan"
    assert context["customer"]["traits"] == {}
    assert context["order"]["placed_at"] is None
    assert context["scores"] is None and context["event"] is None
    with pytest.raises(DataError, match="order: unknown field"):
        customer_context({"name": "x"}, order={"amount": 5})
    with pytest.raises(DataError, match="customer: a message is for a customer"):
        customer_context(None)


def test_customer_context_reads_simple_objects_and_first_name_traits():
    """The caller may pass objects with the fields as attributes; Segment's ``firstName``
    trait beats a first name read from the full name."""
    customer = SimpleNamespace(name="Siti Rahayu", traits={"firstName": "Siti R."}, email="s@x.id")
    context = customer_context(customer, journey=SimpleNamespace(key="welcome", name="Welcome"))
    assert context["customer"]["first_name"] == "Siti R."
    assert context["customer"]["email"] == "s@x.id"
    assert context["journey"] == {"key": "welcome", "name": "Welcome"}


@pytest.mark.parametrize(
    ("name", "locale", "first"),
    [("Alex Morgan", "en", "Alex"), ("Nguyễn Thị Lan", "vi", "Lan"), ("สมหญิง ใจดี", "th", "สมหญิง"),
     ("Sukarno", "id", "Sukarno"), ("  ", "en", None), (None, "el", None)],
)  # fmt: skip
def test_first_name_is_the_given_name_in_each_language(name, locale, first):
    """Vietnamese names put the family name first: greet Lan, not Nguyễn."""
    assert first_name_of(name, locale) == first
