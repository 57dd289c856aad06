"""Settings for the Lambda functions, read once from the environment at start-up.

This is the only place in ``hub`` that reads the environment. Each variable is a field of
:class:`Settings` (its ``alias``); its ``description`` is the documentation. The SAM
template, the local stack and the tests set them. A missing or bad variable raises
:class:`SettingsError` naming it (never its value), so a misconfigured function fails at
cold start rather than on a visitor's request.

Files the functions read default to the Lambda task root (``LAMBDA_TASK_ROOT``, which
Lambda sets; ``functions/`` in a checkout), where ``functions/Makefile`` puts them.

``Settings`` is a plain pydantic model filled by :func:`load_settings` rather than a
``pydantic_settings.BaseSettings``: importing pydantic-settings costs about 45 ms of cold
start (it loads every settings source it supports) and we need none of its sources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.problems import Problem, ProblemsError, from_validation_error

if TYPE_CHECKING:
    from hub.config import Programme

TASK_ROOT = Path(__file__).resolve().parent.parent  # the Lambda task root, or functions/ in a checkout


class SettingsError(ProblemsError):
    """An environment variable is missing or wrong. The message names it (never its value)."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    table_name: str = Field(
        alias="TABLE_NAME", min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$",
        description="The referrals table (referrals, assignments, events and idempotency records).",
    )
    site_origin: str = Field(
        alias="SITE_ORIGIN",
        description="The site's origin, e.g. https://cchcc.example.org: the only origin CORS allows.",
    )
    task_root: Path = Field(
        default=TASK_ROOT, alias="LAMBDA_TASK_ROOT",
        description="Where the function's files are (Lambda sets it).",
    )
    programme_file: Path | None = Field(
        default=None, alias="CCHCC_PROGRAMME_FILE",
        description="The programme configuration (default: programme.yml in the task root).",
    )
    campaigns_file: Path | None = Field(
        default=None, alias="CCHCC_CAMPAIGNS_FILE",
        description="Campaign and placement names (campaigns.json, written by `cchcc build`); "
        "default: in the task root, where notifications show ids without it. Named here, it must exist.",
    )
    thanks_page: Path | None = Field(
        default=None, alias="CCHCC_THANKS_PAGE",
        description="The built thanks page the intake function fills with a reference (default: thanks.html in the "
        "task root); the page in another language is beside it (thanks.<code>.html, or <site>/<code>/thanks/).",
    )
    idempotency_window_seconds: int = Field(
        default=600, alias="IDEMPOTENCY_WINDOW_SECONDS", ge=1, le=86400,
        description="How long identical answers without a submission_id count as the same submission.",
    )
    submission_id_ttl_seconds: int = Field(
        default=86400, alias="SUBMISSION_ID_TTL_SECONDS", ge=60, le=30 * 86400,
        description="How long a submission_id is remembered.",
    )
    cms_auth_client_id: str = Field(
        default="", alias="CMS_AUTH_CLIENT_ID", max_length=100,
        description="The browser editor's GitHub OAuth app client id (empty: the editor's sign-in is not set up).",
    )
    cms_auth_secret_parameter: str = Field(
        default="", alias="CMS_AUTH_SECRET_PARAMETER", max_length=2048,
        description="Name of the SSM SecureString holding that OAuth app's client secret.",
    )
    campaigns_file_required: bool = Field(default=False, exclude=True)

    @field_validator("site_origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ValueError("must be an origin like https://cchcc.example.org (scheme and host, no path)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("programme_file", "campaigns_file", "thanks_page", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _defaults_in_task_root(self) -> "Settings":
        required = self.campaigns_file is not None
        defaults = {
            "programme_file": self.programme_file or self.task_root / "programme.yml",
            "campaigns_file": self.campaigns_file or self.task_root / "campaigns.json",
            "thanks_page": self.thanks_page or self.task_root / "thanks.html",
            "campaigns_file_required": required,
        }
        for name, value in defaults.items():
            object.__setattr__(self, name, value)
        return self

    @classmethod
    def variables(cls) -> dict[str, bool]:
        """Every environment variable the settings read, and whether it is required."""
        return {f.alias: f.is_required() for f in cls.model_fields.values() if f.alias}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings. Raises SettingsError naming each bad variable."""
    env = os.environ if environ is None else environ
    values = {name: env[name] for name in Settings.variables() if name in env}
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = from_validation_error(exc, "environment")
        aliases = {name: f.alias for name, f in Settings.model_fields.items()}
        raise SettingsError(
            Problem(p.file, aliases.get(p.field, p.field), p.reason.replace("but missing", "but not set")) for p in problems
        ) from exc


def webhook_secrets(programme: "Programme", environ: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Signing secrets for every configured webhook, keyed by the environment variable's name."""
    env = os.environ if environ is None else environ
    secrets: dict[str, bytes] = {}
    problems = []
    for spoke in programme.spokes:
        if spoke.webhook is None:
            continue
        value = env.get(spoke.webhook.secret_env, "")
        if len(value) < 16:
            problems.append(
                Problem("environment", spoke.webhook.secret_env,
                        f"missing or shorter than 16 characters (webhook secret for spoke {spoke.id})")
            )
            continue
        secrets[spoke.webhook.secret_env] = value.encode("utf-8")
    if problems:
        raise SettingsError(problems)
    return secrets
