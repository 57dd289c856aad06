"""The compiled programme the functions load at cold start (hub.programme).

It must route, label and notify exactly as the validated model does; it must load without
PyYAML or pydantic; and a stale one (programme.yml edited since, or other code) is refused
in favour of validating programme.yml, so it can never make a function use old rules.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from itertools import product

import pytest

from hub import programme as compiled
from hub.config import Programme, load_programme
from hub.notifications import build_notification
from hub.rules import RoutingFacts, assignments_for
from hub.settings import load_settings
from tests.conftest import PROGRAMME, ROOT
from tests.unit.fakes import stored

MODEL = load_programme(PROGRAMME)


@pytest.fixture
def files(tmp_path):
    source = tmp_path / "programme.yml"
    source.write_bytes(PROGRAMME.read_bytes())
    target = compiled.write_compiled(load_programme(source), source, tmp_path / "programme.json")
    return source, target


def settings_for(source, target):
    return load_settings({"TABLE_NAME": "t-referrals", "SITE_ORIGIN": "https://cchcc.example.org",
                          "CCHCC_PROGRAMME_FILE": str(source), "CCHCC_PROGRAMME_COMPILED": str(target)})


def test_the_compiled_programme_routes_exactly_as_the_validated_one(files):
    view = compiled.load_for_function(settings_for(*files))
    assert isinstance(view, compiled.CompiledProgramme) and not isinstance(view, Programme)
    for postcode, age, interests in product(["LS9 7AB", "LS8 5QR", "LS12 3AB", "M1 1AE", "LS9 6XY"], [16, 19, 25, 26, 70],
                                            [(), ("caring",), ("science", "organising")]):
        facts = RoutingFacts.typed(postcode, age, interests)
        assert assignments_for(facts, view) == assignments_for(facts, MODEL)


def test_the_compiled_programme_answers_what_the_functions_ask(files):
    view = compiled.load_for_function(settings_for(*files))
    for spoke_id in ("cchcc", "hwf", "lcc-employment-skills", "hub", "nobody"):
        assert view.spoke_name(spoke_id) == MODEL.spoke_name(spoke_id)
    assert view.organisations == MODEL.organisations
    assert view.programme.contact_phone_tel == MODEL.programme.contact_phone_tel == "+441134960000"
    assert view.retention_days == MODEL.retention_days and view.routing_mode == MODEL.routing_mode
    assert [s.receives for s in view.spokes] == [s.receives for s in MODEL.spokes]
    with pytest.raises(AttributeError):
        view.retention_days = 1  # read-only, as the frozen model


def test_a_spoke_reads_the_same_message_from_either(files):
    view = compiled.load_for_function(settings_for(*files))
    referral, assignments = stored(programme=MODEL, postcode="LS9 7AB", age="20")
    for assignment in assignments:
        if assignment.role == "notify":
            a, b = build_notification(referral, assignment, assignments, view), build_notification(
                referral, assignment, assignments, MODEL)
            assert (a.to, a.subject, a.text, a.html, a.payload) == (b.to, b.subject, b.text, b.html, b.payload)


@pytest.mark.parametrize("change", ["programme-edited", "other-code", "not-json", "wrong-format"])
def test_a_stale_compiled_programme_is_refused_and_programme_yml_is_used(files, change, caplog):
    source, target = files
    if change == "programme-edited":
        source.write_text(source.read_text().replace("retention_days: 730", "retention_days: 400"), encoding="utf-8")
    elif change == "other-code":
        data = json.loads(target.read_text())
        target.write_text(json.dumps({**data, "code_sha256": "0" * 64}), encoding="utf-8")
    elif change == "not-json":
        target.write_text("{", encoding="utf-8")
    else:
        target.write_text(json.dumps({"format": 99, "programme": {}}), encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="hub.programme")

    loaded = compiled.load_for_function(settings_for(source, target))

    assert isinstance(loaded, Programme)  # validated from programme.yml, not the compiled file
    assert loaded.retention_days == (400 if change == "programme-edited" else 730)
    assert "compiled programme refused" in caplog.text


def test_without_a_compiled_file_programme_yml_is_validated(tmp_path):
    loaded = compiled.load_for_function(settings_for(PROGRAMME, tmp_path / "none.json"))
    assert isinstance(loaded, Programme)


def test_the_intake_cold_start_imports_neither_yaml_nor_pydantic(files):
    source, target = files
    env = {**os.environ, "TABLE_NAME": "t-referrals", "SITE_ORIGIN": "https://cchcc.example.org",
           "CCHCC_PROGRAMME_FILE": str(source), "CCHCC_PROGRAMME_COMPILED": str(target),
           "AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)])}
    code = ("import sys, intake.app as a; print(type(a.programme).__name__, "
            "sorted(m for m in ('yaml', 'pydantic', 'jinja2', 'aws_lambda_powertools.utilities.idempotency') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split("\n")[-2] == "CompiledProgramme []"


def test_the_scans_cold_start_imports_neither_yaml_pydantic_nor_jinja2(files, tmp_path):
    """A poster's redirect waits for this function's cold start: json, boto3 and Powertools only."""
    source, target = files
    (tmp_path / "campaigns.json").write_text(
        '{"codes": {"lg-library": {"kind": "placement", "campaign": "lincoln-green", "target": "/campaigns/lincoln-green/"}}}',
        encoding="utf-8",
    )
    env = {**os.environ, "TABLE_NAME": "t-referrals", "SITE_ORIGIN": "https://cchcc.example.org",
           "CCHCC_PROGRAMME_FILE": str(source), "CCHCC_PROGRAMME_COMPILED": str(target),
           "CCHCC_CAMPAIGNS_FILE": str(tmp_path / "campaigns.json"),
           "AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)])}
    code = ("import sys, scans.app as a; print(type(a.programme).__name__, sorted(a.scans.codes), "
            "sorted(m for m in ('yaml', 'pydantic', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split("\n")[-2] == "CompiledProgramme ['lg-library'] []"
