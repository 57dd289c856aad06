"""Settings for the Lambda functions, read once from the environment at start-up.

This is the only place in ``hub`` that reads the environment. Each variable is a field of
:class:`Settings` declared with :func:`variable` (its ``alias`` is the variable's name, its
``description`` the documentation). The SAM template, the local stack and the tests set
them. A missing or bad variable raises :class:`SettingsError` naming it (never its value),
so a misconfigured function fails at cold start rather than on a visitor's request.

Files the functions read default to the Lambda task root (``LAMBDA_TASK_ROOT``, which
Lambda sets; ``functions/`` in a checkout), where ``functions/Makefile`` puts them.

A plain dataclass with small parsers, not a pydantic model: the functions load it on every
cold start, and pydantic (about 40 ms to import, more to build a model) is otherwise kept
off the start-up path (see :mod:`hub.programme`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hub.problems import Problem, ProblemsError

if TYPE_CHECKING:
    from hub.config import Programme

TASK_ROOT = Path(__file__).resolve().parent.parent  # the Lambda task root, or functions/ in a checkout
_REQUIRED = dataclasses.MISSING


class SettingsError(ProblemsError):
    """An environment variable is missing or wrong. The message names it (never its value)."""


def variable(alias: str, description: str, parse: Callable[[str], Any] = str, default: Any = _REQUIRED) -> Any:
    """A setting read from the environment variable ``alias`` with ``parse`` (which raises
    ValueError saying what is wrong, never quoting the value)."""
    return dataclasses.field(default=default, metadata={"alias": alias, "description": description, "parse": parse})


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"-?[0-9]{1,12}", text.strip()) or not low <= int(text) <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return int(text)

    return parse


def _table_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", text):
        raise ValueError("must be 3 to 255 letters, digits, '_', '-' or '.'")
    return text


def _origin(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError("must be an origin like https://cchcc.example.org (scheme and host, no path)")
    return f"{parts.scheme}://{parts.netloc}"


def _at_most(length: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > length:
            raise ValueError(f"must be {length} characters or fewer")
        return text

    return parse


def _parameter_name(text: str) -> str | None:
    if not text:
        return None
    if len(text) > 1011 or not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", text):
        raise ValueError("must be an SSM parameter name like /cchcc/outcome-link-key")
    return text


def _optional_path(text: str) -> Path | None:
    return Path(text) if text else None


@dataclasses.dataclass(frozen=True)
class Settings:
    table_name: str = variable(
        "TABLE_NAME", "The referrals table (referrals, assignments, events and idempotency records).", _table_name
    )
    site_origin: str = variable(
        "SITE_ORIGIN", "The site's origin, e.g. https://cchcc.example.org: the only origin CORS allows.", _origin
    )
    task_root: Path = variable("LAMBDA_TASK_ROOT", "Where the function's files are (Lambda sets it).", Path, TASK_ROOT)
    programme_file: Path | None = variable(
        "CCHCC_PROGRAMME_FILE", "The programme configuration (default: programme.yml in the task root).",
        _optional_path, None,
    )
    compiled_programme_file: Path | None = variable(
        "CCHCC_PROGRAMME_COMPILED",
        "The programme as `cchcc build` compiled it (programme.json, default: in the task root): loaded at "
        "cold start without YAML or pydantic when its hash says it is programme_file's; else that file is read.",
        _optional_path, None,
    )
    campaigns_file: Path | None = variable(
        "CCHCC_CAMPAIGNS_FILE",
        "Campaign and placement names (campaigns.json, written by `cchcc build`); "
        "default: in the task root, where notifications show ids without it. Named here, it must exist.",
        _optional_path, None,
    )
    thanks_page: Path | None = variable(
        "CCHCC_THANKS_PAGE",
        "The built thanks page the intake function fills with a reference (default: thanks.html in the task "
        "root); the page in another language is beside it (thanks.<code>.html, or <site>/<code>/thanks/).",
        _optional_path, None,
    )
    idempotency_window_seconds: int = variable(
        "IDEMPOTENCY_WINDOW_SECONDS",
        "How long identical answers without a submission_id count as the same submission.", _whole(1, 86400), 600,
    )
    submission_id_ttl_seconds: int = variable(
        "SUBMISSION_ID_TTL_SECONDS", "How long a submission_id is remembered.", _whole(60, 30 * 86400), 86400
    )
    outcome_link_key_parameter: str | None = variable(
        "OUTCOME_LINK_KEY_PARAMETER",
        "The SSM Parameter Store SecureString holding the outcome link signing keys (current[,previous]); "
        "the functions that make or check outcome links need it.",
        _parameter_name, None,
    )
    person_hash_key_parameter: str | None = variable(
        "PERSON_HASH_KEY_PARAMETER",
        "The SSM Parameter Store SecureString keying the person lookup hashes (hub.person): the intake "
        "stores the keyed hash of each referral's email and phone so `cchcc person find` is a query. "
        "Unset: referrals are stored without it (`cchcc person backfill` adds it later).",
        _parameter_name, None,
    )
    rate_limit_burst: int = variable(
        "RATE_LIMIT_BURST", "New referrals one client may send at once before it must wait (hub.limits).",
        _whole(1, 100_000), 50,
    )
    rate_limit_per_hour: int = variable(
        "RATE_LIMIT_PER_HOUR", "New referrals one client may send each hour after its first burst.",
        _whole(1, 1_000_000), 120,
    )
    cms_auth_client_id: str = variable(
        "CMS_AUTH_CLIENT_ID",
        "The browser editor's GitHub OAuth app client id (empty: the editor's sign-in is not set up).",
        _at_most(100), "",
    )
    cms_auth_secret_parameter: str = variable(
        "CMS_AUTH_SECRET_PARAMETER", "Name of the SSM SecureString holding that OAuth app's client secret.",
        _at_most(2048), "",
    )
    campaigns_file_required: bool = False  # computed: a campaigns file was named

    def link_key_parameter(self) -> str:
        """The outcome link key parameter's name; SettingsError naming the variable when unset."""
        if not self.outcome_link_key_parameter:
            raise SettingsError([Problem("environment", "OUTCOME_LINK_KEY_PARAMETER",
                                         "is required by this function but not set")])
        return self.outcome_link_key_parameter

    def __post_init__(self) -> None:
        defaults = {
            "programme_file": self.programme_file or self.task_root / "programme.yml",
            "compiled_programme_file": self.compiled_programme_file or self.task_root / "programme.json",
            "campaigns_file": self.campaigns_file or self.task_root / "campaigns.json",
            "thanks_page": self.thanks_page or self.task_root / "thanks.html",
            "campaigns_file_required": self.campaigns_file is not None,
        }
        for name, value in defaults.items():
            object.__setattr__(self, name, value)

    @classmethod
    def _variables(cls) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(cls) if "alias" in f.metadata]

    @classmethod
    def variables(cls) -> dict[str, bool]:
        """Every environment variable the settings read, and whether it is required."""
        return {f.metadata["alias"]: f.default is _REQUIRED for f in cls._variables()}

    @classmethod
    def descriptions(cls) -> dict[str, str]:
        return {f.metadata["alias"]: f.metadata["description"] for f in cls._variables()}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings. Raises SettingsError naming each bad variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for f in Settings._variables():
        alias = f.metadata["alias"]
        if alias not in env:
            if f.default is _REQUIRED:
                problems.append(Problem("environment", alias, "is required but not set"))
            continue
        try:
            values[f.name] = f.metadata["parse"](env[alias])
        except (ValueError, TypeError) as exc:
            problems.append(Problem("environment", alias, str(exc) or "is not valid"))
    if problems:
        raise SettingsError(problems)
    return Settings(**values)


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
