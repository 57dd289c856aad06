"""Settings from the environment: defaults, and loud failures naming the variable.

Which variables exist and which are required is read from the settings model itself
(``Settings.variables()``), never from a list kept beside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import TASK_ROOT, Settings, SettingsError, load_settings

BASE = {"TABLE_NAME": "cchcc-referrals", "SITE_ORIGIN": "https://cchcc.example.org/"}
REQUIRED = [name for name, required in Settings.variables().items() if required]


def test_the_required_variables_are_the_table_and_the_site_origin():
    # The model says so; the SAM template must set these for every function (tests/infra).
    assert sorted(REQUIRED) == ["SITE_ORIGIN", "TABLE_NAME"]


def test_given_required_env_when_loaded_then_defaults_apply_in_the_task_root():
    settings = load_settings(BASE)

    assert settings.table_name == "cchcc-referrals"
    assert settings.site_origin == "https://cchcc.example.org"  # trailing slash dropped
    assert settings.idempotency_window_seconds == 600
    assert settings.submission_id_ttl_seconds == 86400
    assert settings.programme_file == TASK_ROOT / "programme.yml"
    assert settings.campaigns_file == TASK_ROOT / "campaigns.json" and not settings.campaigns_file_required
    assert settings.thanks_page == TASK_ROOT / "thanks.html"


def test_given_lambdas_task_root_when_loaded_then_files_are_looked_for_there():
    settings = load_settings({**BASE, "LAMBDA_TASK_ROOT": "/var/task"})
    assert settings.programme_file == Path("/var/task/programme.yml")
    assert settings.thanks_page == Path("/var/task/thanks.html")


def test_given_a_campaigns_file_named_when_loaded_then_it_is_required():
    settings = load_settings({**BASE, "CCHCC_CAMPAIGNS_FILE": "/tmp/c.json"})
    assert settings.campaigns_file == Path("/tmp/c.json") and settings.campaigns_file_required


@pytest.mark.parametrize("name", REQUIRED)
def test_given_required_variable_missing_when_loaded_then_error_names_it(name):
    env = {k: v for k, v in BASE.items() if k != name}
    with pytest.raises(SettingsError, match=f"environment: {name}: is required but not set"):
        load_settings(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SITE_ORIGIN", "jobs.leeds.test"),
        ("SITE_ORIGIN", "https://jobs.leeds.test/path"),
        ("IDEMPOTENCY_WINDOW_SECONDS", "soon"),
        ("IDEMPOTENCY_WINDOW_SECONDS", "0"),
        ("SUBMISSION_ID_TTL_SECONDS", "-5"),
        ("TABLE_NAME", "no spaces allowed"),
    ],
)
def test_given_bad_value_when_loaded_then_error_names_the_variable_not_the_value(name, value):
    with pytest.raises(SettingsError, match=name) as info:
        load_settings({**BASE, name: value})
    assert value not in str(info.value) or value.isdigit()


def test_every_variable_is_described():
    descriptions = Settings.descriptions()
    assert set(descriptions) == set(Settings.variables())
    for alias, description in descriptions.items():
        assert len(description) > 20, f"{alias} has no description"
