"""``retain journeys ...``: output for people and for machines, exit codes (0 ok, 2 refused
with every problem as ``file:line: path: reason``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retain.cli import main
from retain.journeys.models import Journey
from tests.journeys.builders import apply_journey, journey_text
from tests.server.workspaces import fresh_environment, run_retain

BUILTIN = Path(__file__).parents[2] / "src" / "retain" / "journeys" / "builtin"

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").write_text(journey_text("a-journey"), encoding="utf-8")
    (tmp_path / "b.yml").write_text(journey_text("b-journey"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a journey", encoding="utf-8")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["journeys", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_apply_a_file_then_again(tmp_path: Path, capsys) -> None:
    path = tmp_path / "win-back.yaml"
    path.write_text(journey_text("win-back"), encoding="utf-8")
    assert run(capsys, "apply", str(path)) == (
        0, f"win-back: created version 1  <- {path}\n", ""
    )  # fmt: skip
    assert run(capsys, "apply", str(path)) == (
        0, f"win-back: unchanged, still version 1  <- {path}\n", ""
    )  # fmt: skip
    path.write_text(journey_text("win-back", name="Changed"), encoding="utf-8")
    assert run(capsys, "apply", str(path))[1] == f"win-back: new version 2  <- {path}\n"


def test_apply_a_folder_takes_its_yaml_and_json_files(folder: Path, capsys) -> None:
    (folder / "c.json").write_text(json.dumps(json.loads(json.dumps(
        {"key": "c-journey", "name": "C", "trigger": {"event": "X"}, "steps": [{"exit": {}}]}
    )), indent="\t"), encoding="utf-8")  # fmt: skip
    code, out, _ = run(capsys, "apply", str(folder), "--json")
    assert code == 0
    assert [(o["key"], o["outcome"], o["version"], o["status"]) for o in json.loads(out)] == [
        ("a-journey", "created", 1, "active"), ("b-journey", "created", 1, "active"),
        ("c-journey", "created", 1, "active"),
    ]  # fmt: skip


def test_a_refused_folder_exits_2_with_every_problem_and_stores_nothing(
    folder: Path, capsys
) -> None:
    (folder / "a.yaml").write_text(journey_text("a-journey", priority="high"), "utf-8")
    (folder / "c.yaml").write_text("key: c\nname: C\nname: again\n", encoding="utf-8")
    code, out, err = run(capsys, "apply", str(folder))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error [data_error]: 2 problem(s); nothing was applied:",
        f"{folder / 'a.yaml'}:13: priority: Input should be a valid integer, unable to parse "
        "string as an integer",
        f"{folder / 'c.yaml'}:3: the key 'name' is given twice (first on line 2)",
    ]
    assert not Journey.objects.exists()


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"key: a\nname: Caf\xe9\n")
    code, _, err = run(capsys, "apply", str(path))
    assert code == 2
    assert f"{path}:2: not UTF-8 text (byte 17 is 0xe9)" in err.splitlines()


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ([], "error [data_error]: name journey files or folders to apply, or --builtin\n"),
        (["nowhere.yaml"], "error [data_error]: nowhere.yaml: no such file or folder\n"),
    ],
)
def test_apply_without_documents_is_an_error(arguments, said, capsys) -> None:
    assert run(capsys, "apply", *arguments) == (2, "", said)


def test_an_empty_folder_is_an_error(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "apply", str(tmp_path))
    assert (code, err) == (2, "error [data_error]: no journey documents to apply (.yaml, "
                              ".yml or .json files)\n")  # fmt: skip


def test_list_as_a_table_and_as_json(capsys) -> None:
    assert run(capsys, "list") == (
        0, "no journeys yet; apply one with `retain journeys apply FILE`\n", ""
    )  # fmt: skip
    apply_journey("win-back", source="journeys/win-back.yaml", applied_by="cli")
    apply_journey("a-journey", name="Another one")
    out = run(capsys, "list")[1]
    header, first, second = out.splitlines()
    assert header.split() == ["key", "name", "status", "version", "applied", "by", "from"]
    assert re.fullmatch(
        r"a-journey +Another one +active +1 +\d{4}-\d\d-\d\d \d\d:\d\d UTC +test +test\.yaml",
        first,
    ), first
    assert second.startswith("win-back ") and second.endswith(" cli   journeys/win-back.yaml")
    listed = json.loads(run(capsys, "list", "--json")[1])
    assert [(j["key"], j["status"], j["version"]) for j in listed] == [
        ("a-journey", "active", 1), ("win-back", "active", 1)
    ]  # fmt: skip


def test_show_prints_the_yaml_as_applied(capsys) -> None:
    text = "# kept as written\n" + journey_text("win-back")
    from retain.journeys.services import apply_document

    apply_document(text, source="win-back.yaml", applied_by="cli")
    apply_journey("win-back", name="Second")
    code, out, err = run(capsys, "show", "win-back", "--version", "1")
    assert (code, out) == (0, text)
    assert re.fullmatch(r"# win-back version 1, applied .* UTC by cli from win-back.yaml\n", err)
    assert "name: Second" in run(capsys, "show", "win-back")[1]
    shown = json.loads(run(capsys, "show", "win-back", "--json")[1])
    assert (shown["number"], shown["current"], shown["document"]["name"]) == (2, True, "Second")
    assert shown["document"]["steps"][0] == {"id": "step-1", "set": {
        "traits": {}, "tags": ["welcomed"], "remove_tags": []}}  # fmt: skip


def test_show_an_unknown_journey_or_version_exits_2(capsys) -> None:
    assert run(capsys, "show", "nope") == (
        2, "", "error [not_found]: no journey with the key 'nope'\n"
    )  # fmt: skip
    apply_journey("win-back")
    code, _, err = run(capsys, "show", "win-back", "--version", "3")
    assert (code, err) == (2, "error [not_found]: journey 'win-back' has no version 3 (its "
                              "versions are 1 to 1)\n")  # fmt: skip


def test_pause_resume_archive(capsys) -> None:
    apply_journey("win-back")
    assert run(capsys, "pause", "win-back")[1] == "journey 'win-back' is paused (was active)\n"
    assert run(capsys, "pause", "win-back")[1] == (
        "journey 'win-back' was paused already; nothing changed\n"
    )
    assert run(capsys, "archive", "win-back")[1] == (
        "journey 'win-back' is archived (was paused)\n"
    )
    assert run(capsys, "pause", "win-back") == (
        2, "", "error [rule_violation]: journey 'win-back' is archived; `resume` it to make it "
        "active again\n",
    )  # fmt: skip
    assert run(capsys, "resume", "win-back")[1] == "journey 'win-back' is active (was archived)\n"
    assert run(capsys, "archive", "nope") == (
        2, "", "error [not_found]: no journey with the key 'nope'\n"
    )  # fmt: skip


def test_a_bad_version_number_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["journeys", "show", "win-back", "--version", "0"])
    assert usage.value.code == 2
    assert "'0' is not a version number (1 or more)" in capsys.readouterr().err


def test_apply_as_the_first_command_on_a_fresh_store(tmp_path: Path) -> None:
    """In a process of its own: the embedded store is created, and a refusal is exit 2
    with no traceback."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(journey_text("win-back"), encoding="utf-8")
    bad.write_text(journey_text("other", steps=[{"wait": {"days": -1}}]), encoding="utf-8")
    environment = fresh_environment(tmp_path / "home")
    refused = run_retain(["journeys", "apply", str(good), str(bad)], environment)
    assert (refused.returncode, refused.out) == (2, ""), refused
    assert refused.err.splitlines()[1:] == [
        f"{bad}:7: steps[0].wait.days: Input should be greater than or equal to 0"
    ], refused
    applied = run_retain(["journeys", "apply", str(good)], environment)
    assert (applied.returncode, applied.err) == (0, ""), applied
    listed = run_retain(["journeys", "list", "--json"], environment)
    assert [j["key"] for j in json.loads(listed.out)] == ["win-back"]


def test_builtin_applies_the_shipped_journeys_once(capsys) -> None:
    """Every shipped journey is applied (its templates checked), and again changes nothing."""
    code, out, err = run(capsys, "apply", "--builtin")
    assert (code, err) == (0, ""), err
    keys = sorted(path.stem for path in BUILTIN.glob("*.yaml"))
    assert len(keys) == 11
    assert out.splitlines() == [f"{key}: created version 1  <- builtin/{key}.yaml" for key in keys]
    assert run(capsys, "apply", "--builtin")[1].splitlines() == [
        f"{key}: unchanged, still version 1  <- builtin/{key}.yaml" for key in keys
    ]
