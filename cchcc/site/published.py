"""Every QR code id the site has published, so that printed codes keep working for ever.

Posters outlive campaigns: when a campaign folder is removed (or a placement or event taken out
of it), its codes must not start answering 404. ``campaigns/published.yml`` lists every id that
has had a ``/q/<id>/`` page, with its campaign and where it should go once it is gone. ``cchcc
build`` adds new ids and keeps each ``after`` up to date; the comms team commits the file with
their campaign. A build makes a ``/q/<id>/`` redirect for every id in it, whether or not its
campaign still exists, and ``cchcc check`` refuses a new placement or event that reuses an id
printed for another campaign (old posters would open the wrong page).

Why a file in the repository rather than the built site or the history: the site folder is
rebuilt from nothing (and CI clones shallowly), so neither the last upload nor ``git log`` is a
reliable memory; a committed file is, and it shows up in review.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from cchcc.project import Project
from hub.problems import Problem, ProblemsError, read_yaml, validate_mapping

FILE = "published.yml"
HEADER = """\
# Every QR code id this site has published (placements and events), kept so that printed codes
# never stop working. `cchcc build` adds new ids and keeps where each one goes: commit this file
# with your campaign. When a campaign (or one of its placements or events) is removed, its codes
# open `after` instead. Remove an id only if its posters were never printed.
"""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign: str = Field(min_length=1, description="The campaign folder the id was published for")
    kind: Literal["placement", "event"]
    after: str = Field(pattern=r"^(/([^/\s]\S*)?|https://\S+)$", description="Where the code goes once it is gone")


class PublishedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: dict[str, Entry] = {}


@dataclass
class Published:
    path: Path
    entries: dict[str, Entry]

    def owner(self, item_id: str) -> str | None:
        entry = self.entries.get(item_id)
        return entry.campaign if entry else None

    def updated(self, campaigns) -> "Published":
        """The registry with every current placement and event in it, each ``after`` as now."""
        entries = dict(self.entries)
        for campaign in campaigns:
            after = campaign.data.redirect_after_end or "/"
            for placement in campaign.placements:
                entries[placement.id] = Entry(campaign=campaign.slug, kind="placement", after=after)
            for event in campaign.events:
                entries[event.id] = Entry(campaign=campaign.slug, kind="event", after="/events/")
        return Published(self.path, dict(sorted(entries.items())))

    def retired(self, campaigns) -> dict[str, Entry]:
        """Ids published before that no campaign has now."""
        current = {item.id for campaign in campaigns for item in campaign.printed}
        return {item_id: entry for item_id, entry in self.entries.items() if item_id not in current}

    def text(self) -> str:
        data = {"ids": {k: v.model_dump() for k, v in self.entries.items()}}
        return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def write_if_changed(self) -> bool:
        """Write the file when it differs from what is there; True when it was written."""
        text = self.text()
        if self.path.is_file() and self.path.read_text(encoding="utf-8") == text:
            return False
        partial = self.path.with_name(f".{self.path.name}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(self.path)
        return True


def path_for(project: Project) -> Path:
    return project.campaigns_dir / FILE


def load(project: Project) -> Published:
    """Read ``campaigns/published.yml`` (empty when there is none). Raises ProblemsError naming the file and field."""
    path = path_for(project)
    if not path.is_file():
        return Published(path, {})
    rel = project.relative(path)
    data, tree = read_yaml(path, rel)
    parsed = validate_mapping(PublishedFile, data or {"ids": {}}, rel, tree=tree, what="a mapping with the key ids")
    return Published(path, dict(parsed.ids))


def reuse_problems(project: Project, published: Published, campaigns) -> list[Problem]:
    """A placement or event whose id was printed for another campaign: old posters would open it."""
    from cchcc.site.campaigns import CAMPAIGN_FILE, line_in

    problems = []
    for campaign in campaigns:
        rel = project.relative(campaign.folder / CAMPAIGN_FILE)
        for kind, items in (("placements", campaign.placements), ("events", campaign.events)):
            for i, item in enumerate(items):
                owner = published.owner(item.id)
                if owner is not None and owner != campaign.slug:
                    problems.append(Problem(
                        rel, f"{kind}[{i}].id",
                        f"'{item.id}' was printed on posters for the campaign '{owner}' ({project.relative(published.path)}); "
                        "choose a new id so those posters keep opening the right page",
                        line_in(project, campaign, (kind, i, "id")),
                    ))
    return problems


__all__ = ["Entry", "Published", "ProblemsError", "load", "path_for", "reuse_problems"]
