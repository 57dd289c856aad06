"""Pay figures for the careers pages: ``site/data/pay.yml``, validated like every other file.

Pages show a figure with a shortcode (``{{ pay("band-2") }}``, :mod:`cchcc.site.pages`),
so the figures live in one place, with their year and source.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.problems import ProblemsError, read_yaml, validate_mapping


class PayError(ProblemsError):
    """``pay.yml`` is wrong; every problem names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Band(_Strict):
    """An NHS Agenda for Change band: yearly pay for a full-time job."""

    label: str = Field(min_length=1)
    low: int = Field(alias="from", ge=0)
    high: int = Field(alias="to", ge=0)
    hourly: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Band":
        if self.high < self.low:
            raise ValueError(f"to: is lower than from ({self.high} < {self.low})")
        return self


class HourlyRate(_Strict):
    """An hourly rate that is not an NHS band (adult social care)."""

    label: str = Field(min_length=1)
    rate: float = Field(gt=0)
    as_of: str = Field(min_length=1)
    source: str = Field(min_length=1)

    @field_validator("as_of", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class PayTable(_Strict):
    year: str = Field(alias="pay_year")
    effective_from: str
    country: str = "England"
    source: str = Field(min_length=1)
    note: str = ""
    note_source: str = ""  # where a figure in the note comes from, and when
    bands: dict[str, Band]
    hourly: dict[str, HourlyRate] = Field(default_factory=dict)
    unsocial_hours: dict[str, dict[str, int]] = Field(default_factory=dict)

    @field_validator("year")
    @classmethod
    def _year(cls, value: str) -> str:
        if not re.fullmatch(r"20[0-9]{2}/[0-9]{2}", value):
            raise ValueError(f"expected a year like 2025/26, got {value!r}")
        return value

    @field_validator("effective_from", mode="before")
    @classmethod
    def _date_text(cls, value: object) -> object:
        return str(value) if value is not None and not isinstance(value, str) else value

    @model_validator(mode="after")
    def _sourced(self) -> "PayTable":
        # A figure: a percentage or an amount of money (a year such as 2026/27 is not one).
        if re.search(r"[0-9]\s*%|£\s*[0-9]|[0-9]+\s*(pounds|per ?cent)", self.note, re.I) and not self.note_source.strip():
            raise ValueError(
                "note_source: the note gives a figure, so say where it comes from and when (for example "
                "'NHS Employers, pay table 2026/27, published March 2026'), or leave the figure out"
            )
        return self

    @model_validator(mode="after")
    def _ids(self) -> "PayTable":
        clash = sorted(set(self.bands) & set(self.hourly))
        if clash:
            raise ValueError(f"hourly: {', '.join(clash)} used both as a band and as an hourly rate")
        unknown = sorted(set(self.unsocial_hours) - set(self.bands))
        if unknown:
            raise ValueError(f"unsocial_hours: {', '.join(unknown)} is not a band in bands")
        return self


def load_pay(path: Path, file: str | None = None) -> PayTable:
    """Read ``pay.yml``. Raises PayError listing every problem."""
    label = file or str(path)
    try:
        data, tree = read_yaml(Path(path), label)
        return validate_mapping(PayTable, data, label, tree=tree, what="keys such as pay_year, source and bands")
    except ProblemsError as exc:
        raise PayError(exc.problems) from exc


def money(amount: float) -> str:
    """``24465`` -> ``£24,465``; ``12.5`` -> ``£12.50``."""
    if float(amount).is_integer() and amount >= 100:
        return f"£{int(amount):,}"
    return f"£{amount:,.2f}"
