"""Settings for the Lambda functions, read once from the environment at start-up.

Environment variables (the SAM template, the local stack and the tests set these):

``TABLE_NAME`` (required)
    The referrals table (referrals, assignments, events and idempotency records).
``SITE_ORIGIN`` (required)
    The campaign site's origin, e.g. ``https://cchcc.example.org`` or
    ``http://127.0.0.1:8000``. The only origin CORS allows.
``CCHCC_PROGRAMME_FILE`` (optional)
    Path of the programme configuration; default ``hub.config.default_path()``.
``CCHCC_CAMPAIGNS_FILE`` (optional)
    Path of the campaign catalogue (``campaigns.json``, written by ``cchcc build``)
    that names campaigns and placements in notifications; default
    ``hub.catalogue.default_path()``, and without one notifications show ids.
``IDEMPOTENCY_WINDOW_SECONDS`` (optional, default 600)
    How long identical answers without a ``submission_id`` count as the same submission.
``SUBMISSION_ID_TTL_SECONDS`` (optional, default 86400)
    How long a ``submission_id`` is remembered.

Webhook signing secrets are read from the environment variable each spoke's
``webhook.secret_env`` names (see :func:`webhook_secrets`).

A missing or bad variable raises :class:`SettingsError` naming it, so a
misconfigured function fails at cold start rather than on a visitor's request.

``Settings`` is a plain pydantic model filled from the environment by
:func:`load_settings` rather than a ``pydantic_settings.BaseSettings``:
importing pydantic-settings costs about 45 ms of cold start (it loads every
settings source it supports) and we need none of its sources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

if TYPE_CHECKING:
    from hub.config import Programme

REQUIRED_ENV = ("TABLE_NAME", "SITE_ORIGIN")
OPTIONAL_ENV = ("CCHCC_PROGRAMME_FILE", "CCHCC_CAMPAIGNS_FILE", "IDEMPOTENCY_WINDOW_SECONDS", "SUBMISSION_ID_TTL_SECONDS")


class SettingsError(Exception):
    """An environment variable is missing or wrong. The message names it (never its value)."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")
    site_origin: str = Field(alias="SITE_ORIGIN")
    programme_file: Path | None = Field(default=None, alias="CCHCC_PROGRAMME_FILE")
    campaigns_file: Path | None = Field(default=None, alias="CCHCC_CAMPAIGNS_FILE")
    idempotency_window_seconds: int = Field(default=600, alias="IDEMPOTENCY_WINDOW_SECONDS", ge=1, le=86400)
    submission_id_ttl_seconds: int = Field(default=86400, alias="SUBMISSION_ID_TTL_SECONDS", ge=60, le=30 * 86400)

    @field_validator("site_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("must be an origin like https://cchcc.example.org (scheme and host, no path)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("programme_file", "campaigns_file", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value


_ALIASES = {name: field.alias for name, field in Settings.model_fields.items()}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings. Raises SettingsError naming each bad variable."""
    env = os.environ if environ is None else environ
    values = {alias: env[alias] for alias in _ALIASES.values() if alias in env}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "(settings)"
            name = _ALIASES.get(name, name)
            message = "is required but not set" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
            problems.append(f"environment variable {name} {message}")
        raise SettingsError("; ".join(problems)) from exc


def webhook_secrets(programme: Programme, environ: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Signing secrets for every configured webhook, keyed by the env var name."""
    env = os.environ if environ is None else environ
    secrets: dict[str, bytes] = {}
    missing = []
    for spoke in programme.spokes:
        if spoke.webhook is None:
            continue
        value = env.get(spoke.webhook.secret_env, "")
        if len(value) < 16:
            missing.append(f"{spoke.webhook.secret_env} (webhook secret for spoke {spoke.id})")
            continue
        secrets[spoke.webhook.secret_env] = value.encode("utf-8")
    if missing:
        raise SettingsError(
            "environment variable(s) missing or shorter than 16 characters: " + ", ".join(missing)
        )
    return secrets
