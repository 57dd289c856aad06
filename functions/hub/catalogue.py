"""The campaign catalogue: titles of campaigns and names of placements, by id.

``cchcc build`` writes ``build/campaigns.json`` from the validated campaign files with
this model (:meth:`Catalogue.model_dump_json`); ``functions/Makefile`` copies it into each
Lambda artifact beside ``programme.yml``. Notifications use it to say "Lincoln Green
health and care jobs (lincoln-green)" instead of only the id.

Shape (public information only, no personal data)::

    {"campaigns": {"<slug>": {"title": "..."}},
     "placements": {"<id>": {"name": "...", "location": "..." or null, "campaign": "<slug>"}},
     "events": {"<id>": {"title": "...", "when": "...", "campaign": "<slug>"}},
     "codes": {"<id>": {"kind": "placement" or "event", "campaign": "<slug>", "target": "/...",
                        "ends": "yyyy-mm-dd" or null, "after_end": "/..." or "https://..." or null}}}

``codes`` holds every printed QR code id the build made a ``/q/<id>/`` page for (current
placements and events, and retired ones from ``campaigns/published.yml``) with where that page
points: the scans function (:mod:`hub.scans`) answers from it, so the counted redirect and the
static one never disagree. It reads this part with ``json`` alone (no pydantic at its cold start).

Without a file, notifications show ids. A file that is not this shape raises
:class:`hub.config.ConfigError` naming the file and field, so a function fails at cold
start rather than sending odd messages.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.config import ConfigError
from hub.problems import Problem, from_validation_error

CATALOGUE_FILE = "campaigns.json"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CampaignEntry(_Entry):
    title: str = Field(min_length=1)


class PlacementEntry(_Entry):
    name: str = Field(min_length=1)
    location: str | None = None
    campaign: str = Field(min_length=1)


class EventEntry(_Entry):
    title: str = Field(min_length=1)
    when: str = Field(min_length=1)  # "Saturday 6 March 2027, 10am to 2pm"
    campaign: str = Field(min_length=1)


class CodeEntry(_Entry):
    """Where ``/q/<id>/`` sends people: ``target``, or ``after_end`` once the day is after ``ends``."""

    kind: Literal["placement", "event"]
    campaign: str = Field(min_length=1)
    target: str = Field(min_length=1)
    ends: date | None = None
    after_end: str | None = None


class Catalogue(_Entry):
    campaigns: dict[str, CampaignEntry]
    placements: dict[str, PlacementEntry]
    events: dict[str, EventEntry] = {}
    codes: dict[str, CodeEntry] = {}

    def event_label(self, event_id: str) -> str:
        """``Title, when (id)``, or the id as it is when the catalogue does not know it."""
        entry = self.events.get(event_id)
        return f"{entry.title}, {entry.when} ({event_id})" if entry else event_id

    def campaign_label(self, slug: str) -> str:
        """``Title (slug)``, or the slug as it is when the catalogue does not know it."""
        entry = self.campaigns.get(slug)
        return f"{entry.title} ({slug})" if entry else slug

    def placement_label(self, placement_id: str) -> str:
        """``Name (id), location``, or the id as it is when the catalogue does not know it."""
        entry = self.placements.get(placement_id)
        if not entry:
            # An event's own poster is a placement too: its QR code opens the event page.
            return f"Poster for the event {self.event_label(placement_id)}" if placement_id in self.events else placement_id
        label = f"{entry.name} ({placement_id})"
        return f"{label}, {entry.location}" if entry.location else label

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write as JSON to ``path`` atomically (a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        return path


EMPTY = Catalogue(campaigns={}, placements={})


def load_catalogue(path: str | os.PathLike[str] | None, *, required: bool = False) -> Catalogue:
    """Read the catalogue at ``path``; empty when there is none (unless ``required``)."""
    if path is None:
        return EMPTY
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if not required:
            return EMPTY
        raise ConfigError([Problem(str(file), "(file)", "file not found (`cchcc build` writes it)")]) from exc
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError([Problem(str(file), "(file)", f"cannot be read ({type(exc).__name__})")]) from exc
    try:
        return Catalogue.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors()
        if errors and errors[0]["type"] == "json_invalid":
            raise ConfigError([Problem(str(file), "(file)", "not valid JSON")]) from exc
        raise ConfigError(from_validation_error(exc, str(file))) from exc
