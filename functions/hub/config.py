"""Programme configuration: spokes, routing rules, retention and reporting settings.

One YAML file (``programme.yml``) validated with pydantic. Every problem is
reported with the file, the field and what is wrong, before anything is built,
served or deployed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub import form, postcodes

# Fields of a referral that a spoke may be configured to receive: every form field but consent.
REFERRAL_FIELDS = tuple(name for name in form.FIELD_ORDER if name != "consent")

def _check_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    well_formed = (
        local
        and "@" not in local
        and not any(c.isspace() for c in value)
        and "." in domain.strip(".")
        and not domain.startswith(".")
        and not domain.endswith(".")
        and ".." not in value
    )
    if not well_formed:
        raise ValueError("is not an email address (expected e.g. team@example.org)")
    return value


# A plain check rather than email-validator: the addresses are typed by the data controller,
# and email-validator costs ~15 ms of every Lambda cold start.
Email = Annotated[
    str,
    Field(max_length=254),
    AfterValidator(_check_email),
]

SpokeId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


class ConfigError(Exception):
    """The programme configuration is wrong. ``problems`` are (field, message) pairs."""

    def __init__(self, path: str | os.PathLike[str], problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        lines = [f"{self.path}: {field}: {message}" for field, message in problems]
        super().__init__("\n".join(lines))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """Conditions that must all hold. Postcode lists are alternatives to each other."""

    id: SpokeId
    description: str = Field(min_length=1, max_length=200)
    postcode_areas: list[str] = []
    postcode_districts: list[str] = []
    postcode_sectors: list[str] = []
    age_min: int | None = Field(default=None, ge=0, le=130)
    age_max: int | None = Field(default=None, ge=0, le=130)
    interests_any: list[str] = []

    @field_validator("postcode_areas")
    @classmethod
    def _areas(cls, value: list[str]) -> list[str]:
        return [postcodes.normalise_area(v) for v in value]

    @field_validator("postcode_districts")
    @classmethod
    def _districts(cls, value: list[str]) -> list[str]:
        return [postcodes.normalise_district(v) for v in value]

    @field_validator("postcode_sectors")
    @classmethod
    def _sectors(cls, value: list[str]) -> list[str]:
        return [postcodes.normalise_sector(v) for v in value]

    @model_validator(mode="after")
    def _sensible(self) -> "Rule":
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError(f"age_min ({self.age_min}) is greater than age_max ({self.age_max})")
        if not (
            self.postcode_areas
            or self.postcode_districts
            or self.postcode_sectors
            or self.age_min is not None
            or self.age_max is not None
            or self.interests_any
        ):
            raise ValueError("a rule needs at least one condition (postcode, age or interests)")
        return self


class Webhook(_Strict):
    url: HttpUrl
    # Name of the environment variable holding the signing secret (never the secret itself).
    secret_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]{2,63}$")


class Spoke(_Strict):
    id: SpokeId
    name: str = Field(min_length=1, max_length=100)
    organisation: str = Field(min_length=1, max_length=150)
    email: Email
    priority: int = Field(ge=1, le=100)
    why: str = Field(min_length=1, max_length=200, description="Finishes 'Referred because the person …'")
    receives: list[str] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)
    webhook: Webhook | None = None

    @field_validator("receives")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in REFERRAL_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; choose from {', '.join(REFERRAL_FIELDS)}"
            )
        if "email" not in value and "phone" not in value:
            raise ValueError("a spoke must receive at least one of email or phone to contact the person")
        return value


class Triage(_Strict):
    id: SpokeId = "hub"
    name: str = Field(min_length=1, max_length=100)
    email: Email


class ProgrammeInfo(_Strict):
    name: str = Field(min_length=1, max_length=150)
    short_name: str = Field(min_length=1, max_length=20)
    organisation: str = Field(min_length=1, max_length=150)
    hub_email: Email
    sender_email: Email
    data_controller: str = Field(min_length=1, max_length=200)
    contact_within_working_days: int = Field(ge=1, le=30)


class Programme(_Strict):
    programme: ProgrammeInfo
    retention_days: int = Field(ge=30, le=3650)
    routing_mode: Literal["primary", "all"] = "primary"
    suppression_threshold: int = Field(default=7, ge=0, le=100)
    spokes: list[Spoke] = Field(min_length=1)
    triage: Triage

    # Field validators (not a model validator) so that each problem names its field.
    @field_validator("spokes")
    @classmethod
    def _unique(cls, spokes: list[Spoke]) -> list[Spoke]:
        problems = []
        for attribute, what in (("id", "spoke id"), ("priority", "priority")):
            seen: dict[object, list[str]] = {}
            for index, spoke in enumerate(spokes):
                seen.setdefault(getattr(spoke, attribute), []).append(f"spokes[{index}]")
            for value, where in seen.items():
                if len(where) > 1 and attribute == "id":
                    problems.append(f"{what} '{value}' used more than once ({', '.join(where)})")
                elif len(where) > 1:
                    problems.append(
                        f"{' and '.join(where)} have the same priority ({value}); give each a different number"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return spokes

    @field_validator("triage")
    @classmethod
    def _triage_not_a_spoke(cls, triage: Triage, info: ValidationInfo) -> Triage:
        if any(spoke.id == triage.id for spoke in info.data.get("spokes", [])):
            raise ValueError(f"triage id '{triage.id}' is also a spoke id")
        return triage

    def spoke(self, spoke_id: str) -> Spoke | None:
        return next((s for s in self.spokes if s.id == spoke_id), None)

    @property
    def organisations(self) -> list[str]:
        """Partner organisations, in priority order, each once (for the privacy notice)."""
        seen: list[str] = [self.programme.organisation]
        for spoke in sorted(self.spokes, key=lambda s: s.priority):
            if spoke.organisation not in seen:
                seen.append(spoke.organisation)
        return seen


def field_path(loc: tuple) -> str:
    """('spokes', 1, 'email') -> 'spokes[1].email'."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Turn pydantic errors into (field path, plain message) pairs."""
    problems = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif err["type"] == "missing":
            message = "is required but missing"
        problems.append((field_path(tuple(err["loc"])), message))
    return problems


def load_yaml(path: Path) -> object:
    """Read a YAML file, turning syntax errors into ConfigError with the line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(path, [("(file)", "file not found")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [("(file)", "is not UTF-8 text")]) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [(where, f"YAML syntax error: {problem}")]) from exc


def default_path() -> Path:
    """``CCHCC_PROGRAMME_FILE``, else ``programme.yml`` beside the Lambda code, else at the repo root."""
    env = os.environ.get("CCHCC_PROGRAMME_FILE")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "programme.yml", here.parent.parent / "programme.yml"):
        if candidate.exists():
            return candidate
    return here.parent.parent / "programme.yml"


def load_programme(path: str | os.PathLike[str] | None = None) -> Programme:
    file = Path(path) if path is not None else default_path()
    data = load_yaml(file)
    if not isinstance(data, dict):
        raise ConfigError(file, [("(top level)", "expected a mapping of keys such as 'programme' and 'spokes'")])
    try:
        return Programme.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(file, validation_problems(exc)) from exc
