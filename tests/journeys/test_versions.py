"""Applying journey documents: versions, idempotence, all-or-nothing folders, status."""

from __future__ import annotations

import datetime as dt

import pytest

from retain.errors import DataError, NotFound, RuleViolation
from retain.journeys.documents import DocumentProblem, read_document
from retain.journeys.models import Journey, JourneyVersion
from retain.journeys.queries import (
    current_journeys,
    get_journey,
    get_version,
    list_journeys,
    version_document,
)
from retain.journeys.services import (
    apply_document,
    apply_many,
    archive_journey,
    content_hash,
    pause_journey,
    resume_journey,
)
from tests.journeys.builders import apply_journey, journey_text

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_a_new_document_creates_an_active_journey_at_version_1() -> None:
    outcome = apply_journey("win-back", source="win-back.yaml", applied_by="cli", now=MONDAY)
    assert (outcome.key, outcome.outcome, outcome.version, outcome.status) == (
        "win-back", "created", 1, "active"
    )  # fmt: skip
    [summary] = list_journeys()
    assert (summary.key, summary.name, summary.status, summary.version) == (
        "win-back", "Journey win-back", "active", 1
    )  # fmt: skip
    assert (summary.applied_at, summary.applied_by, summary.source) == (
        MONDAY, "cli", "win-back.yaml"
    )  # fmt: skip


def test_the_same_document_again_changes_nothing() -> None:
    apply_journey("win-back", now=MONDAY)
    again = apply_journey("win-back", now=MONDAY + dt.timedelta(days=1))
    assert (again.outcome, again.version) == ("unchanged", 1)
    assert JourneyVersion.objects.count() == 1
    assert Journey.objects.get().updated_at == MONDAY


def test_the_same_journey_written_differently_changes_nothing() -> None:
    """Reformatted, commented, keys reordered, defaults spelled out: the same journey."""
    apply_journey("win-back")
    rewritten = (
        "# the same journey, written by hand\n"
        "name: Journey win-back\nkey: win-back\nholdout: 0.1\nreentry: once\n"
        "trigger:\n  event: Signed Up\n"
        "steps:\n  - set: {tags: [welcomed]}\n  - wait: {days: 3.0}\n"
        "  - {id: done, exit: {}}\n"
    )
    outcome = apply_document(rewritten, source="hand.yaml", applied_by="test")
    assert (outcome.outcome, outcome.version) == ("unchanged", 1)


def test_a_changed_document_makes_version_2_current() -> None:
    apply_journey("win-back", now=MONDAY)
    later = MONDAY + dt.timedelta(hours=2)
    outcome = apply_journey("win-back", name="Win back, gently", now=later, source="v2.yaml")
    assert (outcome.outcome, outcome.version) == ("new version", 2)
    detail = get_journey("win-back")
    assert (detail.journey.name, detail.journey.version, detail.journey.updated_at) == (
        "Win back, gently", 2, later
    )  # fmt: skip
    assert [(v.number, v.current, v.source) for v in detail.versions] == [
        (2, True, "v2.yaml"), (1, False, "test.yaml")
    ]  # fmt: skip


def test_version_1_keeps_its_document_when_version_2_is_applied() -> None:
    """An enrolment stays on the version it entered: that version never changes."""
    apply_journey("win-back")
    first = get_version("win-back", 1)
    apply_journey("win-back", steps=[{"wait": {"days": 9}}])
    kept = get_version("win-back", 1)
    assert (kept.stored, kept.source_text, kept.current) == (first.stored, first.source_text, False)
    assert first.document().steps[1].body.days == 3
    assert get_version("win-back").document().steps[0].body.days == 9


def test_going_back_to_an_earlier_document_is_a_new_version() -> None:
    apply_journey("win-back")
    apply_journey("win-back", name="Changed")
    outcome = apply_journey("win-back")
    assert (outcome.outcome, outcome.version) == ("new version", 3)
    assert get_version("win-back", 3).content_hash == get_version("win-back", 1).content_hash


def test_a_version_keeps_the_text_as_given_and_the_checked_document() -> None:
    text = "# a comment kept\n" + journey_text("win-back")
    apply_document(text, source="win-back.yaml", applied_by="cli")
    version = get_version("win-back")
    assert version.source_text == text
    document = read_document(text)
    assert version.document() == document
    assert version.content_hash == content_hash(document)
    assert version.stored["steps"][2] == {"id": "done", "exit": {}}


def test_the_runner_reads_the_active_journeys_current_documents() -> None:
    apply_journey("a-journey")
    apply_journey("b-journey")
    apply_journey("b-journey", name="B, second")
    pause_journey("a-journey")
    [current] = current_journeys()
    assert (current.key, current.number, current.document.name) == ("b-journey", 2, "B, second")
    stored = JourneyVersion.objects.get(journey__key="b-journey", number=2)
    assert current.version_id == stored.pk
    assert version_document(stored.pk) == current.document


def test_a_refused_document_stores_nothing() -> None:
    with pytest.raises(DocumentProblem, match=r"^bad.yaml:\d+: steps\[1\]\.wait\.days: "):
        apply_document(
            journey_text("win-back", steps=[{"exit": {}}, {"wait": {"days": -1}}]),
            source="bad.yaml", applied_by="test",
        )  # fmt: skip
    assert not Journey.objects.exists()


def test_a_folder_is_applied_whole() -> None:
    outcomes = apply_many(
        [("a.yaml", journey_text("a-journey")), ("b.yaml", journey_text("b-journey"))],
        applied_by="cli",
    )
    assert [(o.key, o.outcome, o.source) for o in outcomes] == [
        ("a-journey", "created", "a.yaml"), ("b-journey", "created", "b.yaml")
    ]  # fmt: skip


def test_one_bad_file_refuses_the_folder_with_every_files_problems() -> None:
    apply_journey("a-journey")
    with pytest.raises(DocumentProblem) as refused:
        apply_many(
            [
                ("a.yaml", journey_text("a-journey", name="A, changed")),
                ("b.yaml", journey_text("b-journey", holdout=2)),
                ("c.yaml", "key: [\n"),
                ("d.yaml", journey_text("d-journey")),
            ],
            applied_by="cli",
        )
    assert refused.value.details["problems"] == [
        "b.yaml:13: holdout: Input should be less than or equal to 0.9",
        "c.yaml:2: not valid YAML: expected the node content, but found '<stream end>'",
    ]
    assert list(Journey.objects.values_list("key", flat=True)) == ["a-journey"]
    assert get_journey("a-journey").journey.name == "Journey a-journey"


def test_two_files_with_one_key_are_refused() -> None:
    with pytest.raises(DocumentProblem) as refused:
        apply_many(
            [("a.yaml", journey_text("same")), ("b.yaml", journey_text("same", name="B"))],
            applied_by="cli",
        )
    assert refused.value.details["problems"] == ["b.yaml:1: key: 'same' is also the key of a.yaml"]
    assert not Journey.objects.exists()


def test_an_empty_folder_is_an_error_not_a_silent_success() -> None:
    with pytest.raises(DataError, match="no journey documents to apply"):
        apply_many([], applied_by="cli")


def test_pause_and_resume() -> None:
    apply_journey("win-back")
    paused = pause_journey("win-back")
    assert (paused.before, paused.after, paused.changed) == ("active", "paused", True)
    assert not pause_journey("win-back").changed
    assert list_journeys(status="paused")[0].key == "win-back"
    resumed = resume_journey("win-back")
    assert (resumed.before, resumed.after) == ("paused", "active")
    assert not resume_journey("win-back").changed


def test_a_paused_journey_takes_a_new_version_and_stays_paused() -> None:
    apply_journey("win-back")
    pause_journey("win-back")
    outcome = apply_journey("win-back", name="Fixed")
    assert (outcome.outcome, outcome.version, outcome.status) == ("new version", 2, "paused")


def test_archiving_twice_is_a_no_op_and_resume_revives() -> None:
    apply_journey("win-back")
    assert archive_journey("win-back").changed
    again = archive_journey("win-back")
    assert (again.before, again.after, again.changed) == ("archived", "archived", False)
    assert resume_journey("win-back").after == "active"


def test_an_archived_journey_applied_again_stays_archived() -> None:
    """Applying a folder that still holds an archived journey's file does not revive it."""
    apply_journey("win-back")
    archive_journey("win-back")
    assert apply_journey("win-back").status == "archived"
    changed = apply_journey("win-back", name="Changed")
    assert (changed.outcome, changed.version, changed.status) == ("new version", 2, "archived")
    assert current_journeys() == []


def test_pausing_an_archived_journey_is_refused() -> None:
    apply_journey("win-back")
    archive_journey("win-back")
    with pytest.raises(RuleViolation, match="journey 'win-back' is archived; `resume` it"):
        pause_journey("win-back")


@pytest.mark.parametrize("change", [pause_journey, resume_journey, archive_journey])
def test_an_unknown_key_is_not_found_with_the_key(change) -> None:
    with pytest.raises(NotFound, match="no journey with the key 'nope'"):
        change("nope")


def test_an_unknown_version_is_not_found_with_the_range() -> None:
    apply_journey("win-back")
    with pytest.raises(NotFound, match=r"journey 'win-back' has no version 7 \(its versions"):
        get_version("win-back", 7)
    with pytest.raises(NotFound, match="no journey with the key 'nope'"):
        get_journey("nope")


def test_a_long_source_keeps_the_file_name() -> None:
    source = "/very/deep" * 80 + "/win-back.yaml"
    apply_journey("win-back", source=source)
    kept = get_version("win-back").source
    assert len(kept) == 500 and kept.endswith("/win-back.yaml") and kept.startswith("...")


EMAIL_JOURNEY = (
    "key: welcome\nname: Welcome\ntopic: news\ntrigger: {event: Signed Up}\nsteps:\n"
    "  - wait: {days: 1}\n"
    "  - email:\n"
    "      subject: Hello\n"
    "      html: <p>{{ %s }}</p>\n"
)


def test_undefined_template_variable_is_refused_with_its_line() -> None:
    """Waits for retain.messaging.rendering (check_content, TemplateProblem)."""
    with pytest.raises(DocumentProblem) as refused:
        apply_document(EMAIL_JOURNEY % "no_such_variable", source="welcome.yaml",
                       applied_by="test")  # fmt: skip
    [problem] = refused.value.details["problems"]
    assert problem.startswith("welcome.yaml:9: steps[1].email.html: "), problem
    assert "no_such_variable" in problem
    assert not Journey.objects.exists()


def test_every_template_problem_is_refused_at_its_own_line() -> None:
    """A language's HTML written as a block: the line of the template's own line."""
    text = (
        "key: welcome\nname: Welcome\ntopic: news\ntrigger: {event: Signed Up}\nsteps:\n"
        "  - email:\n"
        "      en: {subject: 'Hi {{ customer.first_name }}', html: <p>Hello</p>}\n"
        "      th:\n"
        "        subject: 'Sawasdee {{ customer.nickname }}'\n"
        "        html: |\n"
        "          <p>Sawasdee</p>\n"
        "          <p>{{ coupon_code }}</p>\n"
    )
    with pytest.raises(DocumentProblem) as refused:
        apply_document(text, source="welcome.yaml", applied_by="test")
    subject, html = refused.value.details["problems"]
    assert subject.startswith("welcome.yaml:9: steps[0].email.th.subject: "), subject
    assert "nickname" in subject
    assert html.startswith("welcome.yaml:12: steps[0].email.th.html: "), html
    assert "coupon_code" in html


def test_a_journey_whose_templates_render_is_applied() -> None:
    """Waits for retain.messaging.rendering (check_content, TemplateProblem)."""
    outcome = apply_document(EMAIL_JOURNEY % "customer.first_name", source="welcome.yaml",
                             applied_by="test")  # fmt: skip
    assert outcome.outcome == "created"


def test_the_admin_shows_journeys_and_versions_without_changing_them(admin_client) -> None:
    apply_journey("win-back")
    apply_journey("win-back", name="Second")
    journey = Journey.objects.get()
    listed = admin_client.get("/admin/journeys/journey/")
    assert listed.status_code == 200 and b"win-back" in listed.content
    shown = admin_client.get(f"/admin/journeys/journey/{journey.pk}/change/")
    assert shown.status_code == 200 and b"Second" in shown.content
    assert admin_client.get("/admin/journeys/journeyversion/").status_code == 200
    assert admin_client.get("/admin/journeys/journey/add/").status_code == 403
