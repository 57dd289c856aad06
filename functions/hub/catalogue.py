"""The campaign catalogue: titles of campaigns and names of placements, by id.

``cchcc build`` writes ``build/campaigns.json`` from the validated campaign
files (``cchcc.campaigns.catalogue``); ``functions/Makefile`` copies it into
each Lambda artifact beside ``programme.yml``. Notifications use it to say
"Lincoln Green health and care jobs (lincoln-green)" instead of only the id.

Shape (public information only, no personal data)::

    {"campaigns": {"<slug>": {"title": "..."}},
     "placements": {"<id>": {"name": "...", "location": "..." or null, "campaign": "<slug>"}}}

A missing file at the default location is fine: notifications show ids. A file
named by ``CCHCC_CAMPAIGNS_FILE`` that is missing, or any file that is not the
shape above, raises :class:`hub.config.ConfigError` naming the file, so the
function fails at cold start rather than sending odd messages.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.config import ConfigError

CATALOGUE_FILE = "campaigns.json"


@dataclass(frozen=True)
class Catalogue:
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    placements: dict[str, dict[str, Any]] = field(default_factory=dict)

    def campaign_label(self, slug: str) -> str:
        """``Title (slug)``, or the slug as it is when the catalogue does not know it."""
        entry = self.campaigns.get(slug)
        return f"{entry['title']} ({slug})" if entry else slug

    def placement_label(self, placement_id: str) -> str:
        """``Name (id), location``, or the id as it is when the catalogue does not know it."""
        entry = self.placements.get(placement_id)
        if not entry:
            return placement_id
        label = f"{entry['name']} ({placement_id})"
        return f"{label}, {entry['location']}" if entry.get("location") else label


EMPTY = Catalogue()


def default_path() -> Path:
    """``CCHCC_CAMPAIGNS_FILE``, else ``campaigns.json`` in the Lambda task root, else ``build/`` in the repo."""
    env = os.environ.get("CCHCC_CAMPAIGNS_FILE")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / CATALOGUE_FILE, here.parent.parent / "build" / CATALOGUE_FILE):
        if candidate.exists():
            return candidate
    return here.parent / CATALOGUE_FILE


def _check(data: Any) -> list[tuple[str, str]]:
    """Problems as (field, message); empty when the data has the catalogue's shape."""
    if not isinstance(data, dict):
        return [("(top level)", "expected an object with 'campaigns' and 'placements'")]
    problems: list[tuple[str, str]] = []
    required = {"campaigns": ("title",), "placements": ("name", "campaign")}
    for section, names in required.items():
        entries = data.get(section)
        if not isinstance(entries, dict):
            problems.append((section, "expected an object keyed by id"))
            continue
        for key, entry in entries.items():
            if not isinstance(entry, dict):
                problems.append((f"{section}.{key}", "expected an object"))
                continue
            for name in names:
                if not isinstance(entry.get(name), str) or not entry[name]:
                    problems.append((f"{section}.{key}.{name}", "missing or not text"))
            if section == "placements" and not isinstance(entry.get("location"), (str, type(None))):
                problems.append((f"{section}.{key}.location", "must be text or null"))
    return problems


def load_catalogue(path: str | os.PathLike[str] | None = None) -> Catalogue:
    """Read the catalogue; an empty one when there is none at the default location."""
    explicit = path is not None or bool(os.environ.get("CCHCC_CAMPAIGNS_FILE"))
    file = Path(path) if path is not None else default_path()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if not explicit:
            return EMPTY
        raise ConfigError(file, [("(file)", "file not found (`cchcc build` writes it)")]) from exc
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(file, [("(file)", f"cannot be read ({type(exc).__name__})")]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(file, [(f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}")]) from exc
    problems = _check(data)
    if problems:
        raise ConfigError(file, problems)
    return Catalogue(campaigns=data["campaigns"], placements=data["placements"])
