"""``cchcc check`` as a person runs it: a subprocess on good and broken files.

Given a broken programme file, then a non-zero exit and a message on stderr
that names the file, the field and the problem (DESIGN.md §2, §5).
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_config import set_at

REPO = Path(__file__).resolve().parents[2]
CCHCC = REPO / ".venv" / "bin" / "cchcc"
SAMPLE = REPO / "programme.yml"
SAMPLE_DATA: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))

pytestmark = pytest.mark.skipif(not CCHCC.exists(), reason="run `make install` first: .venv/bin/cchcc is missing")


def cchcc_check(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "CCHCC_PROGRAMME_FILE"}
    environment.update(env or {})
    return subprocess.run(
        [str(CCHCC), "check", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def changed(change: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(SAMPLE_DATA)
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


BROKEN = [
    # (file text, field named, words of the problem)
    pytest.param(
        SAMPLE.read_text(encoding="utf-8").replace("  short_name: CCHCC", "    short_name: CCHCC"),
        "line 6, column 15",
        ["YAML syntax error"],
        id="bad YAML, with the line number",
    ),
    pytest.param(changed(set_at("spokes.1.prioritty", 2)), "spokes[1].prioritty", ["unknown key"], id="unknown key"),
    pytest.param(changed(set_at("spokes.1.priority", "high")), "spokes[1].priority", ["integer"], id="wrong type"),
    pytest.param(
        changed(set_at("spokes.2.id", "hwf")), "spokes", ["spoke id 'hwf'", "more than once"], id="duplicate spoke id"
    ),
    pytest.param(
        changed(set_at("spokes.1.rules.0.age_min", 30)),
        "spokes[1].rules[0]",
        ["age_min (30) is greater than age_max (25)"],
        id="age_min > age_max",
    ),
    pytest.param(
        changed(set_at("spokes.2.receives", ["name", "email", "shoe_size"])),
        "spokes[2].receives",
        ["unknown field(s) shoe_size"],
        id="unknown receives field",
    ),
    pytest.param(
        changed(set_at("spokes.0.rules.0.postcode_sectors", ["LS9 6", "XS9 7"])),
        "spokes[0].rules[0].postcode_sectors",
        ["not a postcode sector", "'XS9 7'"],
        id="bad postcode sector",
    ),
    pytest.param("- just\n- a list\n", "(top level)", ["expected a mapping"], id="not a mapping"),
]


@pytest.mark.parametrize(("text", "field", "words"), BROKEN)
def test_broken_programme_fails_naming_file_field_and_problem(
    tmp_path: Path, text: str, field: str, words: list[str]
) -> None:
    path = tmp_path / "broken-programme.yml"
    path.write_text(text, encoding="utf-8")
    result = cchcc_check("--programme", str(path), cwd=REPO)
    assert result.returncode != 0
    line = next((l for l in result.stderr.splitlines() if re.match(rf"{re.escape(str(path))}: {re.escape(field)}( \(line \d+\))?: ", l)), None)
    assert line is not None, result.stderr
    for word in words:
        assert word in line, (word, line)
    assert "problem(s) found" in result.stderr
    assert "Traceback" not in result.stderr


def test_good_programme_passes(tmp_path: Path) -> None:
    path = tmp_path / "programme.yml"
    path.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = cchcc_check("--programme", str(path), cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert result.stderr == ""


def test_shipped_sample_passes_from_the_repository_root() -> None:
    result = cchcc_check(cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_every_problem_is_counted(tmp_path: Path) -> None:
    data = copy.deepcopy(SAMPLE_DATA)
    data["retention_days"] = 1
    data["spokes"][1]["priority"] = "high"
    path = tmp_path / "programme.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = cchcc_check("--programme", str(path), cwd=REPO)
    assert result.returncode != 0
    assert re.search(rf"{re.escape(str(path))}: retention_days \(line \d+\): ", result.stderr)
    assert re.search(rf"{re.escape(str(path))}: spokes\[1\]\.priority \(line \d+\): ", result.stderr)
    assert "2 problem(s) found" in result.stderr


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "no-such-programme.yml"
    result = cchcc_check("--programme", str(path), cwd=REPO)
    assert result.returncode != 0
    assert f"{path}: (file): file not found" in result.stderr


def test_the_environment_does_not_choose_the_programme_file(tmp_path: Path) -> None:
    """The functions read CCHCC_PROGRAMME_FILE; the command line reads --programme or the project's file only."""
    broken = tmp_path / "broken.yml"
    broken.write_text("programme: [\n", encoding="utf-8")
    result = cchcc_check(cwd=REPO, env={"CCHCC_PROGRAMME_FILE": str(broken)})
    assert result.returncode == 0, result.stderr


def test_check_works_from_any_folder_inside_the_project() -> None:
    result = cchcc_check(cwd=REPO / "site" / "docs" / "careers")
    assert result.returncode == 0, result.stderr


def test_outside_a_project_it_says_so(tmp_path: Path) -> None:
    result = cchcc_check(cwd=tmp_path)
    assert result.returncode == 2
    assert "is not inside a CCHCC project" in result.stderr and "--project" in result.stderr


def test_check_has_help(tmp_path: Path) -> None:
    result = cchcc_check("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--programme" in result.stdout
