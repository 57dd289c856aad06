"""Settings from the environment: defaults, and loud failures naming the variable."""

from __future__ import annotations

import pytest

from hub.settings import OPTIONAL_ENV, REQUIRED_ENV, SettingsError, load_settings

BASE = {"TABLE_NAME": "cchcc-referrals", "SITE_ORIGIN": "https://cchcc.example.org/"}


def test_given_required_env_when_loaded_then_defaults_apply():
    settings = load_settings(BASE)

    assert settings.table_name == "cchcc-referrals"
    assert settings.site_origin == "https://cchcc.example.org"  # trailing slash dropped
    assert settings.idempotency_window_seconds == 600
    assert settings.submission_id_ttl_seconds == 86400
    assert settings.programme_file is None


@pytest.mark.parametrize("name", REQUIRED_ENV)
def test_given_required_variable_missing_when_loaded_then_error_names_it(name):
    env = {k: v for k, v in BASE.items() if k != name}
    with pytest.raises(SettingsError, match=name):
        load_settings(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SITE_ORIGIN", "cchcc.example.org"),
        ("SITE_ORIGIN", "https://cchcc.example.org/path"),
        ("IDEMPOTENCY_WINDOW_SECONDS", "soon"),
        ("IDEMPOTENCY_WINDOW_SECONDS", "0"),
        ("SUBMISSION_ID_TTL_SECONDS", "-5"),
        ("TABLE_NAME", "no spaces allowed"),
    ],
)
def test_given_bad_value_when_loaded_then_error_names_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings({**BASE, name: value})


def test_optional_env_is_documented():
    import hub.settings

    for name in (*REQUIRED_ENV, *OPTIONAL_ENV):
        assert name in hub.settings.__doc__
