"""Campaign files: ``campaigns/<slug>/campaign.yml`` plus ``campaigns/<slug>/index.md``.

Every campaign is loaded and checked before anything is generated or written.
A problem is reported as ``file: field: reason`` (the line number is added to the
field where the YAML gives one), so the comms team can find and fix it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.config import field_path

CAMPAIGN_FILE = "campaign.yml"
LANDING_FILE = "index.md"
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")

PlacementId = Annotated[
    str,
    Field(
        min_length=2,
        max_length=24,
        pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
        description="short, lowercase letters, digits and hyphens",
    ),
]
Format = Literal["poster-a3", "poster-a4", "flyer-a5", "flyer-a6"]


@dataclass(frozen=True)
class PaperFormat:
    """A print format: page size in millimetres (portrait) and the QR sizes that suit it."""

    name: str
    paper: str
    width_mm: float
    height_mm: float
    qr_default_mm: float  # printed symbol width when no viewing distance is given
    qr_max_mm: float  # the largest symbol that still leaves room for the words

    @property
    def kind(self) -> str:
        return "poster" if self.name.startswith("poster") else "flyer"


FORMATS: dict[str, PaperFormat] = {
    "poster-a3": PaperFormat("poster-a3", "A3", 297, 420, 100, 180),
    "poster-a4": PaperFormat("poster-a4", "A4", 210, 297, 75, 120),
    "flyer-a5": PaperFormat("flyer-a5", "A5", 148, 210, 50, 80),
    "flyer-a6": PaperFormat("flyer-a6", "A6", 105, 148, 36, 55),
}
QR_MIN_MM = 20.0  # never print a QR code smaller than 2 cm


class CampaignError(Exception):
    """One or more campaign files are wrong. ``problems`` are ``file: field: reason`` lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Placement(_Strict):
    """One place a poster or flyer goes. Its id is printed in the QR code, so it never changes."""

    id: PlacementId
    name: str = Field(min_length=1, max_length=80)
    format: Format
    location: str | None = Field(default=None, max_length=200)
    copies: int = Field(default=1, ge=1, le=5000)
    outdoor: bool = False
    viewing_distance_m: float | None = Field(default=None, gt=0, le=10)

    @property
    def paper(self) -> PaperFormat:
        return FORMATS[self.format]

    @property
    def qr_mm(self) -> float:
        """Printed width of the QR symbol: at least 2 cm and a tenth of the viewing distance."""
        size = self.paper.qr_default_mm
        if self.viewing_distance_m is not None:
            size = max(size, self.viewing_distance_m * 1000 / 10)
        return max(size, QR_MIN_MM)

    @model_validator(mode="after")
    def _fits(self) -> "Placement":
        if self.viewing_distance_m is not None and self.qr_mm > self.paper.qr_max_mm:
            raise ValueError(
                f"viewing_distance_m: seen from {self.viewing_distance_m:g} m the QR code must be "
                f"{self.qr_mm / 10:g} cm wide, which does not fit on {self.format} "
                f"(largest {self.paper.qr_max_mm / 10:g} cm); choose a bigger format or a shorter distance"
            )
        return self


class CampaignFile(_Strict):
    """What ``campaign.yml`` holds."""

    title: str = Field(min_length=1, max_length=80)
    headline: str = Field(min_length=1, max_length=70)
    summary: str = Field(min_length=1, max_length=160, description="one line of copy for posters and the page")
    area: str = Field(min_length=1, max_length=120)
    starts: dt.date
    ends: dt.date
    roles: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]] = Field(default=[], max_length=6)
    redirect_after_end: str | None = None
    placements: list[Placement] = Field(min_length=1)

    @field_validator("summary")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("must be one line (it is printed on every poster)")
        return value

    @field_validator("redirect_after_end")
    @classmethod
    def _redirect(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith("https://") or (value.startswith("/") and not value.startswith("//")):
            if any(c.isspace() for c in value):
                raise ValueError("must not contain spaces")
            return value
        raise ValueError("must be a page on this site starting with / (for example /careers/) or an https:// address")

    @model_validator(mode="after")
    def _dates_and_ids(self) -> "CampaignFile":
        if self.ends < self.starts:
            raise ValueError(f"ends: the end date {self.ends} is before the start date {self.starts}")
        seen: set[str] = set()
        for i, placement in enumerate(self.placements):
            if placement.id in seen:
                raise ValueError(f"placements[{i}].id: '{placement.id}' is used twice in this campaign")
            seen.add(placement.id)
        return self


@dataclass(frozen=True)
class Campaign:
    slug: str
    folder: Path
    data: CampaignFile
    body: str  # landing page copy (Markdown) from index.md
    role_titles: dict[str, str] = field(default_factory=dict)

    @property
    def placements(self) -> list[Placement]:
        return list(self.data.placements)

    def ended(self, today: dt.date | None = None) -> bool:
        return (today or dt.date.today()) > self.data.ends


# --- YAML line numbers --------------------------------------------------------------------------


def _line_for(node: yaml.Node | None, loc: tuple) -> int | None:
    """Follow a pydantic error location through the composed YAML tree to a line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            key = next((k for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            line = key.start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _problems(rel: str, exc: ValidationError, tree: yaml.Node | None) -> list[str]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; run 'cchcc campaign new' to see every key)"
        elif err["type"] == "missing":
            message = "is required but missing"
        elif err["type"] == "literal_error" and loc and loc[-1] == "format":
            message = f"unknown format; choose one of {', '.join(FORMATS)}"
        elif err["type"] == "string_pattern_mismatch" and loc and loc[-1] == "id":
            message = "must be short and use only lowercase letters, digits and hyphens (for example lg-library)"
        # Model validators name their own field as "field: reason".
        if ": " in message and re.match(r"^[a-z_]+(\[\d+\])?(\.[a-z_]+)?: ", message):
            sub, message = message.split(": ", 1)
            path = field_path(loc + tuple(_split_sub(sub)))
            loc = loc + tuple(_split_sub(sub))
        else:
            path = field_path(loc)
        # A missing key has no line of its own; point at the entry it belongs to, if any.
        line = _line_for(tree, loc[:-1]) if err["type"] == "missing" and len(loc) > 1 else (
            None if err["type"] == "missing" else _line_for(tree, loc)
        )
        where = f"{path} (line {line})" if line else path
        out.append(f"{rel}: {where}: {message}")
    return out


def _split_sub(sub: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in sub.split("."):
        m = re.match(r"^([a-z_]+)(?:\[(\d+)\])?$", piece)
        if not m:
            return [piece]
        parts.append(m.group(1))
        if m.group(2) is not None:
            parts.append(int(m.group(2)))
    return parts


# --- loading -------------------------------------------------------------------------------------


def campaigns_dir(root: Path) -> Path:
    return Path(root) / "campaigns"


def careers_dir(root: Path) -> Path:
    return Path(root) / "site" / "docs" / "careers"


def role_pages(root: Path) -> dict[str, str]:
    """Careers role slugs that exist in the site, with their page titles."""
    folder = careers_dir(root)
    found: dict[str, str] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix == ".md" and path.stem != "index":
            slug, page = path.stem, path
        elif path.is_dir() and (path / "index.md").is_file():
            slug, page = path.name, path / "index.md"
        else:
            continue
        found[slug] = _page_title(page) or slug.replace("-", " ").capitalize()
    return found


def _page_title(path: Path) -> str | None:
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            try:
                meta = yaml.safe_load(text[3:end]) or {}
            except yaml.YAMLError:
                meta = {}
            if isinstance(meta, dict) and isinstance(meta.get("title"), str):
                return meta["title"]
            text = text[end + 4 :]
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def load_campaign(folder: Path, root: Path, roles: dict[str, str] | None = None) -> tuple[Campaign | None, list[str]]:
    """Load one campaign folder. Returns (campaign or None, problems)."""
    slug = folder.name
    yml = folder / CAMPAIGN_FILE
    rel = _rel(yml, root)
    problems: list[str] = []
    if not SLUG_RE.match(slug):
        problems.append(
            f"{_rel(folder, root)}: (folder name): must use only lowercase letters, digits and hyphens "
            "(it becomes the web address /campaigns/<name>/)"
        )
    landing = folder / LANDING_FILE
    body = ""
    if not landing.is_file():
        problems.append(f"{_rel(landing, root)}: (file): missing; every campaign needs landing page copy in index.md")
    else:
        try:
            body = landing.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(f"{_rel(landing, root)}: (file): is not UTF-8 text")
        if body.lstrip().startswith("---"):
            problems.append(
                f"{_rel(landing, root)}: (front matter): not needed here; put settings in {CAMPAIGN_FILE}"
            )
        elif landing.is_file() and not body.strip():
            problems.append(f"{_rel(landing, root)}: (file): is empty; write a few sentences for the landing page")
    if not yml.is_file():
        problems.append(f"{rel}: (file): missing")
        return None, problems
    try:
        text = yml.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, problems + [f"{rel}: (file): is not UTF-8 text"]
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        return None, problems + [f"{rel}: {where}: YAML syntax error: {problem}"]
    if not isinstance(data, dict):
        return None, problems + [f"{rel}: (top level): expected keys such as title, starts, ends and placements"]
    try:
        parsed = CampaignFile.model_validate(data)
    except ValidationError as exc:
        return None, problems + _problems(rel, exc, tree)
    if roles:  # checked once the careers pages exist
        for i, role in enumerate(parsed.roles):
            if role not in roles:
                line = _line_for(tree, ("roles", i))
                known = ", ".join(sorted(roles)) or "none yet"
                problems.append(
                    f"{rel}: roles[{i}] (line {line}): no careers page called '{role}' in site/docs/careers "
                    f"(known: {known})"
                )
    if parsed.redirect_after_end and parsed.redirect_after_end.rstrip("/") == f"/campaigns/{slug}":
        problems.append(f"{rel}: redirect_after_end: points back at this campaign; choose where people go after it ends")
    if problems:
        return None, problems
    titles = {r: (roles or {}).get(r, r.replace("-", " ").capitalize()) for r in parsed.roles}
    return Campaign(slug=slug, folder=folder, data=parsed, body=body, role_titles=titles), []


def load_all(root: Path) -> list[Campaign]:
    """Load and check every campaign. Raises CampaignError listing every problem found."""
    root = Path(root)
    base = campaigns_dir(root)
    if not base.is_dir():
        return []
    roles = role_pages(root)
    campaigns: list[Campaign] = []
    problems: list[str] = []
    owner: dict[str, str] = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        campaign, found = load_campaign(folder, root, roles)
        problems += found
        if campaign is None:
            continue
        rel = _rel(folder / CAMPAIGN_FILE, root)
        clash = False
        for i, placement in enumerate(campaign.placements):
            if placement.id in owner:
                problems.append(
                    f"{rel}: placements[{i}].id: '{placement.id}' is already used by {owner[placement.id]}; "
                    "placement ids must be unique across all campaigns"
                )
                clash = True
            else:
                owner[placement.id] = rel
        if not clash:
            campaigns.append(campaign)
    for stray in sorted(p for p in base.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml", ".md")):
        if stray.name.lower() != "readme.md":
            problems.append(
                f"{_rel(stray, root)}: (file): campaigns live in folders: campaigns/<name>/campaign.yml and index.md"
            )
    if problems:
        raise CampaignError(problems)
    return campaigns


def check_all(root: Path) -> list[str]:
    """``cchcc check``: every campaign problem as a ``file: field: reason`` line."""
    try:
        load_all(root)
    except CampaignError as exc:
        return exc.problems
    return []


# --- catalogue for the functions ---------------------------------------------------------------


def catalogue(campaigns: list[Campaign]) -> dict:
    """Public names by id for notifications (``hub.catalogue`` reads it): nothing personal.

    ``{"campaigns": {slug: {"title"}}, "placements": {id: {"name", "location", "campaign"}}}``
    """
    return {
        "campaigns": {c.slug: {"title": c.data.title} for c in campaigns},
        "placements": {
            p.id: {"name": p.name, "location": p.location, "campaign": c.slug}
            for c in campaigns
            for p in c.placements
        },
    }


def write_catalogue(campaigns: list[Campaign], path: Path) -> Path:
    """Write :func:`catalogue` as JSON to ``path`` (atomically: a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(catalogue(campaigns), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path
