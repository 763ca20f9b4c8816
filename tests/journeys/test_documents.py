"""Journey documents: every trigger and step kind read, every mistake refused at its path
and line, and hostile input refused while it is read (no parse may cost memory or time)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pytest
from pydantic import BaseModel

from retain.journeys import documents
from retain.journeys.documents import (
    MAX_DOCUMENT_CHARS,
    BranchStep,
    BroadcastTrigger,
    DateTrigger,
    DocumentProblem,
    DomainEventTrigger,
    EmailStep,
    EventTrigger,
    PredictionTrigger,
    SplitStep,
    from_stored,
    parse_document,
    read_document,
    register_step,
    stored_form,
)
from retain.journeys.yaml_reading import MAX_DEPTH, MAX_NODES

HEAD = """\
key: win-back
name: Win back
topic: win-back
trigger: {event: Order Completed}
steps:
"""


def doc(steps: str, *, head: str = HEAD, tail: str = "") -> str:
    """A document whose steps start on line 6."""
    return head + textwrap.dedent(steps) + textwrap.dedent(tail)


def problems(text: str, source: str = "j.yaml") -> list[str]:
    with pytest.raises(DocumentProblem) as refused:
        read_document(text, source=source)
    return refused.value.details.get("problems") or [refused.value.message]


FULL = """\
key: win-back
name: Win back lapsing customers
description: For customers the model sees slipping away.
trigger: {domain_event: lifecycle.changed, where: {to: at risk}}
audience: {all: [{field: value_decile, gte: 8}, {field: consent.email, eq: true}]}
reentry: {every_days: 90}
goal: {event: Order Completed, within_days: 14}
holdout: 0.2
priority: 5
topic: win-back
steps:
  - id: hello
    email:
      en: {subject: We miss you, html: <p>Hello</p>}
      th: {subject: Khid theung, html: <p>Sawasdee</p>, text: Sawasdee}
  - webhook: {url: "https://crm.example/hook", data: {channel: line, tries: [1, 2.5]}}
  - wait: {days: 3, until: "10:00", weekdays: [mon, wed]}
  - wait_for: {event: Order Completed, same: order_id, timeout_days: 7, on_timeout: nudge}
  - id: nudge
    branch: {if: {field: p_alive, lt: 0.3}, then: done, else: ab}
  - id: ab
    split: {paths: {hello: 1, done: 3}}
  - set: {traits: {plan: lapsed}, tags: [win-back], remove_tags: [active]}
  - id: done
    exit:
"""


def test_a_full_document_reads_every_part() -> None:
    journey = read_document(FULL)
    assert isinstance(journey.trigger, DomainEventTrigger)
    assert journey.trigger.where == {"to": "at risk"}
    assert (journey.reentry.rule, journey.reentry.every_days) == ("every", 90)
    assert (journey.goal.event, journey.goal.within_days) == ("Order Completed", 14)
    assert (journey.holdout, journey.priority, journey.topic) == (0.2, 5, "win-back")
    assert [step.kind for step in journey.steps] == [
        "email", "webhook", "wait", "wait_for", "branch", "split", "set", "exit"
    ]  # fmt: skip
    assert [step.id for step in journey.steps] == [
        "hello", "step-2", "step-3", "step-4", "nudge", "ab", "step-7", "done"
    ]  # fmt: skip
    email = journey.steps[0].body
    assert set(email.contents()) == {"en", "th"} and email.contents()["th"].text == "Sawasdee"
    assert journey.steps[2].body.until == dt.time(10, 0)
    assert journey.steps[2].body.weekdays == ("mon", "wed")
    branch = journey.steps[4].body
    assert isinstance(branch, BranchStep) and (branch.then, branch.otherwise) == ("done", "ab")
    assert isinstance(journey.steps[5].body, SplitStep)
    assert journey.step_index("done") == 7


@pytest.mark.parametrize(
    ("trigger", "kind", "check"),
    [
        ("{event: Order Completed, first_order: true}", EventTrigger,
         lambda t: t.first_order is True),
        ("{domain_event: segment.changed, where: {to: champions}}", DomainEventTrigger,
         lambda t: t.where == {"to": "champions"}),
        ("{prediction: {field: churn_risk, eq: high}}", PredictionTrigger,
         lambda t: t.prediction == {"field": "churn_risk", "eq": "high"}),
        ("{date: birthday, at: '09:30'}", DateTrigger, lambda t: t.at == dt.time(9, 30)),
        ("{date: after_first_order, days: [30, 90]}", DateTrigger, lambda t: t.days == (30, 90)),
        ("{broadcast: 2026-12-10T10:00:00+07:00, every_days: 7}", BroadcastTrigger,
         lambda t: t.broadcast.utcoffset() == dt.timedelta(hours=7) and t.every_days == 7),
    ],
)  # fmt: skip
def test_every_trigger_kind(trigger: str, kind: type, check) -> None:
    journey = read_document(doc("  - exit: {}\n", head=HEAD.replace(
        "trigger: {event: Order Completed}", f"trigger: {trigger}")))  # fmt: skip
    assert isinstance(journey.trigger, kind) and check(journey.trigger)


def test_a_single_content_email_is_filed_under_en() -> None:
    journey = read_document(doc("  - email: {subject: Hi, html: <p>x</p>}\n"))
    assert list(journey.steps[0].body.contents()) == ["en"]


def test_a_json_document_reads_like_yaml() -> None:
    data = {"key": "j", "name": "J", "transactional": True, "trigger": {"event": "X"},
            "steps": [{"email": {"subject": "Receipt", "html": "<p>Thanks</p>"}}]}  # fmt: skip
    journey = read_document(json.dumps(data, indent=2))
    assert journey.transactional and journey.steps[0].kind == "email"


def test_a_json_document_indented_with_tabs_keeps_its_lines() -> None:
    data = {"key": "j", "name": "J", "trigger": {"event": "X"}, "steps": [{"wait": {"days": -1}}]}
    text = json.dumps(data, indent="\t")
    line = text.splitlines().index('\t\t\t\t"days": -1') + 1
    assert problems(text) == [f"j.yaml:{line}: steps[0].wait.days: Input should be greater "
                              "than or equal to 0"]  # fmt: skip


def test_stored_form_reads_back_to_the_same_document() -> None:
    journey = read_document(FULL)
    stored = json.loads(json.dumps(stored_form(journey)))
    assert from_stored(stored) == journey
    assert stored["steps"][4] == {"id": "nudge", "branch": {
        "if": {"field": "p_alive", "lt": 0.3}, "then": "done", "else": "ab"}}  # fmt: skip


def test_parse_document_keeps_the_line_of_every_step() -> None:
    parsed = parse_document(FULL, source="w.yaml")
    assert [parsed.line_of("steps", index) for index in (0, 1, 7)] == [12, 16, 24]
    assert parsed.line_of("steps", 0, "email", "th") == 15
    assert parsed.source == "w.yaml"


# --- mistakes, each at its own line -------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "tail", "expected"),
    [
        ("  - wait: {days: -1}\n", "",
         ["j.yaml:6: steps[0].wait.days: Input should be greater than or equal to 0"]),
        ("  - wait:\n      days: 1\n      hours: lots\n", "",
         ["j.yaml:8: steps[0].wait.hours: Input should be a valid number, unable to parse "
          "string as a number"]),
        ("  - wait: {}\n", "",
         ["j.yaml:6: steps[0].wait: a wait needs days, hours, minutes, until or weekdays"]),
        ("  - wait: {until: '25:00'}\n", "",
         ["j.yaml:6: steps[0].wait.until: Input should be in a valid time format, hour value "
          "is outside expected range of 0-23"]),
        ("  - exit: {}\n  - jump: {to: 1}\n", "",
         ["j.yaml:7: steps[1]: a step needs exactly one kind of email, webhook, wait, wait_for, "
          "branch, split, set, exit; it has jump"]),
        ("  - exit: {}\n  - {wait: {days: 1}, exit: {}}\n", "",
         ["j.yaml:7: steps[1]: a step needs exactly one kind of email, webhook, wait, wait_for, "
          "branch, split, set, exit; it has wait, exit"]),
        ("  - wait: 3\n", "", ["j.yaml:6: steps[0]: wait takes a mapping, not 3"]),
        ("  - branch: {if: {field: p_alive, lt: 0.3}, then: nowhere}\n", "",
         ["j.yaml:6: steps[0].branch: goes to 'nowhere', which is no step's id"]),
        ("  - {id: a, exit: {}}\n  - {id: a, exit: {}}\n", "",
         ["j.yaml:7: steps[1].id: two steps have the id 'a'"]),
        ("  - split: {paths: {a: 1}}\n  - {id: a, exit: {}}\n", "",
         ["j.yaml:6: steps[0].split.paths: a split needs at least two paths"]),
        ("  - webhook: {url: 'ftp://x'}\n", "",
         ["j.yaml:6: steps[0].webhook.url: String should match pattern '^https?://'"]),
        ("  - set: {}\n", "", ["j.yaml:6: steps[0].set: set needs traits, tags or remove_tags"]),
        ("  - wait_for: {event: Paid}\n", "",
         ["j.yaml:6: steps[0].wait_for.timeout_days: Field required"]),
        ("  - email: {subject: Hi}\n", "",
         ["j.yaml:6: steps[0].email: an email needs both a subject and html"]),
        ("  - email:\n      en: {subject: Hi}\n      fr: {subject: Salut, html: x}\n", "",
         ["j.yaml:8: steps[0].email.fr: expected a language of en, th, vi, el, id, or subject, "
          "html and text"]),
        ("  - email:\n      en: {subject: Hi}\n      th: {html: x, colour: red}\n", "",
         ["j.yaml:7: steps[0].email.en.html: Field required",
          "j.yaml:8: steps[0].email.th.subject: Field required",
          "j.yaml:8: steps[0].email.th.colour: Extra inputs are not permitted"]),
        ("  - email: {th: {subject: Hi, html: x}}\n", "",
         ["j.yaml:6: steps[0].email: contents per language need en, which the others fall "
          "back to"]),
        ("  - exit: {}\n", "audience:\n  all:\n    - {field: p_alive, lt: 0.3}\n"
         "    - {field: value_decile, gte: high}\n",
         ["j.yaml:10: audience.all[1].gte: expected a whole number for value_decile, not "
          "'high'"]),
        ("  - branch:\n      if: {field: shoe_size, eq: 9}\n      then: x\n  - {id: x, exit: {}}\n",
         "", ["j.yaml:7: steps[0].branch.if.field: expected a known field (email, name, "
              "acquisition_channel, segment, p_alive, clv_12m, expected_purchases_90d, "
              "value_decile, churn_risk, rfm_segment, lifecycle_stage, days_since_last_order, "
              "days_since_last_activity, tags, traits.<name>, consent.<channel>), not "
              "'shoe_size'"]),
        ("  - exit: {}\n", "holdout: 2\npriority: top\nreentry: sometimes\ncolour: red\n",
         ["j.yaml:7: holdout: Input should be less than or equal to 0.9",
          "j.yaml:8: priority: Input should be a valid integer, unable to parse string as an "
          "integer",
          "j.yaml:9: reentry: expected once, always or {every_days: N}",
          "j.yaml:10: colour: Extra inputs are not permitted"]),
    ],
)  # fmt: skip
def test_each_mistake_is_refused_at_its_line(steps: str, tail: str, expected: list[str]) -> None:
    assert problems(doc(steps, tail=tail)) == expected


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ("{event: X, bogus: 1}", "j.yaml:4: trigger.bogus: Extra inputs are not permitted"),
        ("{date: after_signup}",
         "j.yaml:4: trigger: after_signup needs days, such as [30, 90, 180, 365]"),
        ("{date: birthday, days: [3]}", "j.yaml:4: trigger: birthday takes no days"),
        ("{broadcast: '2026-12-10T10:00:00'}",
         "j.yaml:4: trigger.broadcast: give the time zone, such as 2026-12-10T10:00:00+07:00"),
        ("{event: X, date: birthday}", "j.yaml:4: trigger: a trigger needs exactly one of event, "
         "domain_event, prediction, date, broadcast"),
        ("{prediction: {field: p_alive, lt: soon}}",
         "j.yaml:4: trigger.prediction.lt: expected a number for p_alive, not 'soon'"),
        ("Order Completed",
         "j.yaml:4: trigger: a trigger is a mapping, such as {event: Order Completed}"),
    ],
)  # fmt: skip
def test_each_bad_trigger_is_refused_at_its_line(trigger: str, expected: str) -> None:
    text = doc("  - exit: {}\n", head=HEAD.replace("{event: Order Completed}", trigger))
    assert problems(text) == [expected]


def test_missing_fields_are_reported_at_the_mapping_that_lacks_them() -> None:
    assert problems("# a journey\nkey: Win Back!\nsteps: []\n") == [
        "j.yaml:2: key: String should match pattern '^[a-z0-9][a-z0-9_-]{0,63}$'",
        "j.yaml:2: name: Field required",
        "j.yaml:2: trigger: Field required",
        "j.yaml:3: steps: Tuple should have at least 1 item after validation, not 0",
    ]


def test_a_journey_that_sends_needs_a_topic_or_transactional() -> None:
    text = doc("  - email: {subject: Hi, html: x}\n", head=HEAD.replace("topic: win-back\n", ""))
    assert problems(text) == [
        "j.yaml:1: (document): a journey that sends needs a topic (what customers unsubscribe "
        "from), or transactional: true"
    ]


def test_too_many_steps_are_refused() -> None:
    many = "".join("  - wait: {days: 1}\n" for _ in range(documents.MAX_STEPS + 1))
    assert problems(doc(many)) == [
        f"j.yaml:5: steps: Tuple should have at most {documents.MAX_STEPS} items after "
        f"validation, not {documents.MAX_STEPS + 1}"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key: [\n", "j.yaml:2: not valid YAML: expected the node content, but found "
         "'<stream end>'"),
        ("key: a\n  name: b\n", "j.yaml:2: not valid YAML: mapping values are not allowed here"),
        ("key: 'open\n", "j.yaml:2: not valid YAML: found unexpected end of stream"),
        ("- a\n- b\n", "j.yaml:1: a journey is a mapping with key, name, trigger, steps"),
        ("", "j.yaml:1: a journey is a mapping with key, name, trigger, steps"),
        ("key: a\n---\nkey: b\n", "j.yaml:2: not valid YAML: but found another document"),
        ("key: *nowhere\n", "j.yaml:1: not valid YAML: found undefined alias 'nowhere'"),
    ],
)  # fmt: skip
def test_yaml_syntax_errors_name_their_line(text: str, expected: str) -> None:
    assert problems(text) == [expected]


# --- YAML as the author means it ----------------------------------------------------------------


def test_a_time_of_day_stays_a_time_not_a_number_of_minutes() -> None:
    """YAML 1.1 reads 10:00 as 600 (base 60), which became 00:10."""
    journey = read_document(doc("  - wait: {until: 10:00}\n"))
    assert journey.steps[0].body.until == dt.time(10, 0)
    trigger = HEAD.replace("{event: Order Completed}", "{date: birthday, at: 09:30}")
    assert read_document(doc("  - exit: {}\n", head=trigger)).trigger.at == dt.time(9, 30)


def test_no_yes_on_and_leading_zeros_stay_text() -> None:
    journey = read_document(doc("  - set: {traits: {country: NO, answer: yes, on: off, "
                                "zip: 0123, code: 010}}\n"))  # fmt: skip
    assert journey.steps[0].body.traits == {
        "country": "NO", "answer": "yes", "on": "off", "zip": "0123", "code": "010"
    }  # fmt: skip


def test_numbers_and_booleans_still_read_as_such() -> None:
    journey = read_document(doc("  - set: {traits: {a: 1, b: -2.5, c: 1e3, d: true, e: null}}\n"))
    assert journey.steps[0].body.traits == {"a": 1, "b": -2.5, "c": 1000.0, "d": True, "e": None}


def test_a_key_given_twice_is_refused() -> None:
    assert problems(doc("  - exit: {}\n", tail="name: Another\n")) == [
        "j.yaml:7: the key 'name' is given twice (first on line 2)"
    ]
    assert problems(doc("  - wait: {days: 1, days: 2}\n")) == [
        "j.yaml:6: the key 'days' is given twice (first on line 6)"
    ]


def test_a_step_cannot_pass_as_already_read() -> None:
    """``{kind: ..., body: ...}`` is what a checked step holds; written in a document it is
    no step kind, so its body is never taken unchecked."""
    assert problems(doc("  - kind: email\n    body: {anything: 1}\n")) == [
        "j.yaml:6: steps[0]: a step needs exactly one kind of email, webhook, wait, wait_for, "
        "branch, split, set, exit; it has kind, body"
    ]


def test_anchors_and_aliases_share_a_content() -> None:
    text = doc("""\
      - email: &hello {subject: Hi, html: <p>x</p>}
      - wait: {days: 1}
      - email: *hello
    """)
    journey = read_document(text)
    assert journey.steps[0].body == journey.steps[2].body


def test_a_registered_step_kind_is_read_and_stored() -> None:
    class TaskStep(BaseModel):
        title: str

    register_step("test_task", TaskStep)
    try:
        journey = read_document(doc("  - test_task: {title: Call them}\n"))
        assert journey.steps[0].body == TaskStep(title="Call them")
        assert from_stored(stored_form(journey)) == journey
        assert problems(doc("  - test_task: {}\n")) == [
            "j.yaml:6: steps[0].test_task.title: Field required"
        ]
        with pytest.raises(ValueError, match="exists already"):
            register_step("test_task", TaskStep)
    finally:
        del documents.STEP_KINDS["test_task"]


# --- hostile input --------------------------------------------------------------------------------


def test_a_document_too_long_is_refused_before_it_is_read() -> None:
    text = "description: '" + "x" * MAX_DOCUMENT_CHARS + "'\n"
    assert problems(text) == [f"j.yaml: longer than {MAX_DOCUMENT_CHARS:,} characters"]


def test_a_nul_character_is_refused_with_its_line() -> None:
    assert problems("key: a\nname: b\x00c\n") == ["j.yaml:2: contains a NUL character"]
    assert problems('key: a\nname: "b\\0c"\n') == ["j.yaml:2: contains a NUL character"]
    assert problems('key: a\nname: "b\\ud800"\n') == [
        "j.yaml:2: contains a lone surrogate (not a character)"
    ]


def test_control_characters_are_refused_with_their_line() -> None:
    assert problems("key: a\nname: b\x01c\n") == [
        "j.yaml:2: not valid YAML: special characters are not allowed (#x0001)"
    ]


def test_deep_nesting_is_refused_not_a_crash() -> None:
    text = "key: " + "[" * 5000 + "]" * 5000 + "\n"
    assert problems(text) == [f"j.yaml:1: nested deeper than {MAX_DEPTH} levels"]
    deep_map = "".join("  " * level + f"k{level}:\n" for level in range(200)) + "  " * 200 + "x\n"
    assert problems(deep_map) == [f"j.yaml:{MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"]


def test_a_billion_laughs_is_refused_while_it_is_read() -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 10)]
    expected = f"more than {MAX_NODES:,} values (aliases expanded): too large a journey"
    [problem] = problems("\n".join(lines) + "\n")
    assert problem.endswith(expected) and problem.startswith("j.yaml:")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert problems("key: &a [1, *a]\n") == ["j.yaml:1: the alias *a is inside its own anchor"]


def test_too_many_values_without_aliases_are_refused() -> None:
    text = "key: [" + ", ".join(["1"] * (MAX_NODES + 1)) + "]\n"
    assert problems(text)[0].endswith("too large a journey")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e400", "'1e400' is not a finite number"),
        ("!!float nope", "'nope' is not a number"),
        ("!!int " + "9" * 5000, "'9999999999999999999999999999999999999...' is not a whole number"),
        ("!!bool maybe", "'maybe' is not true or false"),
        ("2026-13-45", "'2026-13-45' is not a date or a time"),
        ("!!binary aGVsbG8=", "not valid YAML: could not determine a constructor for the tag "
         "'tag:yaml.org,2002:binary'"),
        ("!!set {a: null}", "not valid YAML: could not determine a constructor for the tag "
         "'tag:yaml.org,2002:set'"),
        ("!!python/object/apply:os.system [ls]", "not valid YAML: could not determine a "
         "constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ],
)  # fmt: skip
def test_values_no_json_column_holds_are_refused(value: str, expected: str) -> None:
    assert problems(f"key: a\nname: {value}\n") == [f"j.yaml:2: {expected}"]


def test_a_complex_key_is_refused() -> None:
    assert problems("? [a, b]\n: 1\n") == [
        "j.yaml:1: a key must be plain text, not a list or mapping"
    ]


def test_a_nan_or_infinity_is_text_and_refused_where_a_number_is_needed() -> None:
    assert problems(doc("  - exit: {}\n", tail="holdout: .nan\n")) == [
        "j.yaml:7: holdout: Input should be a valid number, unable to parse string as a number"
    ]
    journey = read_document(doc("  - set: {traits: {a: .inf}}\n"))
    assert journey.steps[0].body.traits == {"a": ".inf"}


def test_an_email_step_model_is_the_same_read_or_stored() -> None:
    step = EmailStep.model_validate({"en": {"subject": "Hi", "html": "x"}})
    assert EmailStep.model_validate(step.model_dump()) == step
