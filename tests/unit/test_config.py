"""Programme configuration: the sample loads, and every mistake names the file,
the field and what is wrong (DESIGN.md §2 "Configuration is data", §5)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config import ConfigError, Programme, load_programme

SAMPLE = Path(__file__).resolve().parents[2] / "programme.yml"
SAMPLE_DATA: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))

# Index of each sample spoke in the file.
CCHCC, HWF, LCC = 0, 1, 2


def test_the_sample_programme_loads() -> None:
    programme = load_programme(SAMPLE)
    assert [(s.id, s.priority) for s in programme.spokes] == [
        ("cchcc", 1),
        ("hwf", 2),
        ("lcc-employment-skills", 3),
    ]
    assert programme.routing_mode == "primary"
    assert programme.triage.id == "hub"
    assert programme.spokes[CCHCC].rules[0].postcode_sectors == ["LS9 6", "LS9 7", "LS8 5"]
    hwf_rule = programme.spokes[HWF].rules[0]
    assert (hwf_rule.age_min, hwf_rule.age_max, hwf_rule.postcode_areas) == (16, 25, ["LS"])
    assert programme.spoke("hwf") is programme.spokes[HWF]
    assert programme.spoke("nobody") is None


def test_after_the_referral_settings_default_when_left_out() -> None:
    data = copy.deepcopy(SAMPLE_DATA)
    for key in ("outcome_link_days", "reminder_after_working_days", "escalate_after_working_days"):
        data.pop(key, None)
    programme = Programme.model_validate(data)
    assert (programme.outcome_link_days, programme.reminder_after_working_days,
            programme.escalate_after_working_days) == (120, 5, 10)


def test_partner_organisations_are_listed_once_in_priority_order() -> None:
    assert load_programme(SAMPLE).organisations == [
        "Leeds Health and Care Academy",
        "Healthier Working Futures",
        "Leeds City Council",
    ]


def test_config_values_are_normalised() -> None:
    data = copy.deepcopy(SAMPLE_DATA)
    data["spokes"][CCHCC]["rules"][0]["postcode_sectors"] = ["ls9  6", "LS97"]
    data["spokes"][LCC]["rules"][0]["postcode_areas"] = [" ls "]
    programme = Programme.model_validate(data)
    assert programme.spokes[CCHCC].rules[0].postcode_sectors == ["LS9 6", "LS9 7"]
    assert programme.spokes[LCC].rules[0].postcode_areas == ["LS"]


# --- every mistake: (change to the sample, field named, words in the message) -------


def set_at(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Change the value at a dotted path (``spokes.1.priority``) in the sample data."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def delete_at(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return change


def duplicate_spoke_id(data: dict[str, Any]) -> None:
    data["spokes"][LCC]["id"] = "hwf"


BAD_RULE: dict[str, Any] = {"id": "r", "description": "d"}

MISTAKES = [
    # unknown keys (spelling mistakes) at every level
    pytest.param(set_at("routing_mdoe", "all"), "routing_mdoe", ["unknown key"], id="unknown top-level key"),
    pytest.param(set_at("programme.nmae", "X"), "programme.nmae", ["unknown key"], id="unknown programme key"),
    pytest.param(set_at("spokes.1.prioritty", 2), "spokes[1].prioritty", ["unknown key"], id="unknown spoke key"),
    pytest.param(
        set_at("spokes.1.rules.0.age_maximum", 30), "spokes[1].rules[0].age_maximum", ["unknown key"], id="unknown rule key"
    ),
    # wrong types
    pytest.param(set_at("spokes.1.priority", "high"), "spokes[1].priority", ["integer"], id="priority not a number"),
    pytest.param(set_at("retention_days", "two years"), "retention_days", ["integer"], id="retention not a number"),
    pytest.param(set_at("spokes.0.rules.0.postcode_sectors", "LS9 7"), "spokes[0].rules[0].postcode_sectors", ["list"], id="sectors not a list"),
    pytest.param(set_at("spokes.1.rules.0.age_min", 16.5), "spokes[1].rules[0].age_min", ["integer"], id="age not whole"),
    pytest.param(set_at("spokes", {"cchcc": {}}), "spokes", ["list"], id="spokes not a list"),
    pytest.param(set_at("spokes.0.name", 42), "spokes[0].name", ["string"], id="name not text"),
    # out of range / not allowed
    pytest.param(set_at("retention_days", 10), "retention_days", ["greater than or equal to 30"], id="retention too short"),
    pytest.param(set_at("routing_mode", "everyone"), "routing_mode", ["must be primary or all"], id="unknown routing mode"),
    pytest.param(set_at("spokes.0.priority", 0), "spokes[0].priority", ["greater than or equal to 1"], id="priority zero"),
    pytest.param(set_at("spokes.1.rules.0.age_min", -1), "spokes[1].rules[0].age_min", ["greater than or equal to 0"], id="negative age"),
    pytest.param(set_at("spokes.0.id", "CCHCC"), "spokes[0].id", ["pattern"], id="spoke id upper case"),
    pytest.param(set_at("spokes.0.id", "cchcc team"), "spokes[0].id", ["pattern"], id="spoke id with space"),
    pytest.param(set_at("spokes.0.email", "not-an-email"), "spokes[0].email", ["email"], id="bad spoke email"),
    pytest.param(set_at("programme.hub_email", "hub@"), "programme.hub_email", ["email"], id="bad hub email"),
    pytest.param(
        set_at("spokes.0.webhook", {"url": "not a url", "secret_env": "CCHCC_SECRET"}),
        "spokes[0].webhook.url",
        ["URL"],
        id="bad webhook url",
    ),
    pytest.param(
        set_at("spokes.0.webhook", {"url": "https://example.org/hook", "secret_env": "s3cr3t value"}),
        "spokes[0].webhook.secret_env",
        ["pattern"],
        id="webhook secret given instead of env var name",
    ),
    # after the referral
    pytest.param(set_at("outcome_link_days", 3), "outcome_link_days", ["greater than or equal to 7"], id="links too short"),
    pytest.param(
        set_at("escalate_after_working_days", 5),
        "escalate_after_working_days",
        ["more than reminder_after_working_days (5)"],
        id="escalation before the reminder",
    ),
    pytest.param(set_at("reminder_after_working_days", 0), "reminder_after_working_days", ["greater than or equal to 1"], id="no reminder days"),
    # missing
    pytest.param(delete_at("triage"), "triage", ["required", "missing"], id="missing triage"),
    pytest.param(delete_at("spokes.1.email"), "spokes[1].email", ["required", "missing"], id="missing spoke email"),
    pytest.param(set_at("spokes", []), "spokes", ["at least 1"], id="no spokes"),
    pytest.param(set_at("spokes.1.rules", []), "spokes[1].rules", ["at least 1"], id="spoke without rules"),
    # rules that cannot be right
    pytest.param(
        set_at("spokes.1.rules.0.age_min", 30),
        "spokes[1].rules[0]",
        ["age_min (30)", "age_max (25)"],
        id="age_min greater than age_max",
    ),
    pytest.param(set_at("spokes.1.rules.0", BAD_RULE), "spokes[1].rules[0]", ["at least one condition"], id="rule with no condition"),
    pytest.param(
        set_at("spokes.0.rules.0.postcode_sectors", ["LS9 6", "LS9"]),
        "spokes[0].rules[0].postcode_sectors",
        ["not a postcode sector", "'LS9'"],
        id="district given as a sector",
    ),
    pytest.param(
        set_at("spokes.0.rules.0.postcode_sectors", ["QS9 7"]),
        "spokes[0].rules[0].postcode_sectors",
        ["not a postcode sector", "'QS9 7'"],
        id="sector with impossible first letter",
    ),
    pytest.param(
        set_at("spokes.0.rules.0.postcode_sectors", ["LS9 7AB"]),
        "spokes[0].rules[0].postcode_sectors",
        ["not a postcode sector", "'LS9 7AB'"],
        id="full postcode given as a sector",
    ),
    pytest.param(
        set_at("spokes.2.rules.0.postcode_areas", ["LS9"]),
        "spokes[2].rules[0].postcode_areas",
        ["not a postcode area", "'LS9'"],
        id="district given as an area",
    ),
    pytest.param(
        set_at("spokes.2.rules.0.postcode_districts", ["LS9 7"]),
        "spokes[2].rules[0].postcode_districts",
        ["not a postcode district", "'LS9 7'"],
        id="sector given as a district",
    ),
    # what a spoke receives
    pytest.param(
        set_at("spokes.2.receives", ["name", "email", "shoe_size"]),
        "spokes[2].receives",
        ["unknown field", "shoe_size"],
        id="unknown receives field",
    ),
    pytest.param(
        set_at("spokes.2.receives", ["name", "postcode"]),
        "spokes[2].receives",
        ["email or phone"],
        id="spoke that cannot contact the person",
    ),
    pytest.param(set_at("spokes.2.receives", []), "spokes[2].receives", ["at least 1"], id="receives nothing"),
    # across spokes
    pytest.param(duplicate_spoke_id, "spokes", ["hwf", "more than once"], id="duplicate spoke id"),
    pytest.param(set_at("spokes.2.priority", 2), "spokes", ["same priority"], id="duplicate priority"),
    pytest.param(set_at("triage.id", "hwf"), "triage", ["hwf", "also a spoke id"], id="triage id is a spoke id"),
]


def write(tmp_path: Path, data: Any, name: str = "programme.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "field", "words"), MISTAKES)
def test_each_mistake_names_the_file_the_field_and_the_problem(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], field: str, words: list[str]
) -> None:
    data = copy.deepcopy(SAMPLE_DATA)
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_programme(path)
    error = info.value
    assert {p.file for p in error.problems} == {str(path)}
    assert field in error.fields, error.problems
    problem = next(p for p in error.problems if p.field == field)
    for word in words:
        assert word in problem.reason, (word, problem.reason)
    where = f"{field} (line {problem.line})" if problem.line else field
    assert f"{path}: {where}: {problem.reason}" in str(error).splitlines()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = copy.deepcopy(SAMPLE_DATA)
    data["retention_days"] = 1
    data["spokes"][HWF]["priority"] = "high"
    data["spokes"][LCC]["receives"] = ["shoe_size", "email"]
    with pytest.raises(ConfigError) as info:
        load_programme(write(tmp_path, data))
    assert info.value.fields == ["retention_days", "spokes[1].priority", "spokes[2].receives"]
    # Each at the line of its key in the file, so the data controller can find it.
    lines = write(tmp_path, data).read_text(encoding="utf-8").splitlines()
    for problem in info.value.problems:
        assert lines[problem.line - 1].lstrip(" -").startswith(problem.field.rsplit(".", 1)[-1].split("[")[0] + ":")
    assert len(str(info.value).splitlines()) == 3


# --- files that are not a programme at all ------------------------------------------


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        pytest.param(
            "programme:\n  name: CCHCC\n   short_name: x\n",
            "line 3, column 14",
            ["YAML syntax error"],
            id="bad indentation",
        ),
        pytest.param(
            "spokes:\n  - id: cchcc\n    name: [unclosed\n",
            "line 4, column 1",
            ["YAML syntax error"],
            id="unclosed bracket",
        ),
        pytest.param("retention_days: 730\n\tspokes: []\n", "line 2, column 1", ["YAML syntax error"], id="tab indent"),
        pytest.param("", "(top level)", ["expected a mapping"], id="empty file"),
        pytest.param("# only a comment\n", "(top level)", ["expected a mapping"], id="only a comment"),
        pytest.param("- cchcc\n- hwf\n", "(top level)", ["expected a mapping"], id="a list"),
        pytest.param("just some words\n", "(top level)", ["expected a mapping"], id="a string"),
    ],
)
def test_unreadable_files_name_the_file_and_where(tmp_path: Path, content: str, field: str, words: list[str]) -> None:
    path = tmp_path / "programme.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_programme(path)
    [problem] = info.value.problems
    assert problem.field == field
    for word in words:
        assert word in problem.reason
    assert str(info.value).startswith(f"{path}: {field}: ")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(ConfigError) as info:
        load_programme(path)
    assert str(info.value) == f"{path}: (file): file not found"


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "programme.yml"
    path.write_bytes(SAMPLE.read_bytes().replace(b"Leeds City Council", b"Leeds \xa3 Council"))
    with pytest.raises(ConfigError) as info:
        load_programme(path)
    assert [(p.field, p.reason) for p in info.value.problems] == [("(file)", "is not UTF-8 text")]
