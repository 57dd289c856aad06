"""Programme configuration: spokes, routing rules, retention and reporting settings.

One YAML file (``programme.yml``) validated with pydantic. Every problem is reported
with the file, the field and what is wrong (:mod:`hub.problems`), before anything is
built, served or deployed. Which file to read is the caller's to say: the command line
resolves it from the project (``cchcc.project``), the functions from their settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub import form, postcodes
from hub.problems import ProblemsError, read_yaml, validate_mapping
from hub.programme import InfoMethods, ProgrammeMethods

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


class ConfigError(ProblemsError):
    """The programme configuration (or another file the functions read) is wrong."""


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
        unknown = [v for v in value if v not in form.SHAREABLE]
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; choose from {', '.join(form.SHAREABLE)}"
            )
        if "email" not in value and "phone" not in value:
            raise ValueError("a spoke must receive at least one of email or phone to contact the person")
        return value


class Triage(_Strict):
    id: SpokeId = "hub"
    name: str = Field(min_length=1, max_length=100)
    email: Email


def _uk_phone(value: str) -> str:
    from hub.validation import normalise_phone

    if normalise_phone(value) is None:
        raise ValueError("is not a UK phone number (expected e.g. 0113 496 0000)")
    return value


class ProgrammeInfo(_Strict, InfoMethods):
    name: str = Field(min_length=1, max_length=150)
    short_name: str = Field(min_length=1, max_length=20)
    organisation: str = Field(min_length=1, max_length=150)
    hub_email: Email
    sender_email: Email
    # For people without a smartphone or the internet: on every page footer, the thanks page and posters.
    contact_phone: Annotated[str, Field(min_length=1, max_length=30), AfterValidator(_uk_phone)]
    data_controller: str = Field(min_length=1, max_length=200)
    contact_within_working_days: int = Field(ge=1, le=30)


class Programme(_Strict, ProgrammeMethods):
    """The programme file, validated. Its methods (``spoke``, ``spoke_name``, ``organisations``)
    are :class:`hub.programme.ProgrammeMethods`, shared with the compiled view the functions load."""

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


def load_programme(path: str | os.PathLike[str]) -> Programme:
    """Read and validate a programme file. Raises ConfigError listing every problem."""
    try:
        data, tree = read_yaml(Path(path))
        return validate_mapping(
            Programme, data, str(path), tree=tree, what="a mapping of keys such as 'programme' and 'spokes'"
        )
    except ConfigError:
        raise
    except ProblemsError as exc:
        raise ConfigError(exc.problems) from exc
