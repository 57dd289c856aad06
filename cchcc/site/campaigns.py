"""Campaign files: ``campaigns/<slug>/campaign.yml`` plus ``campaigns/<slug>/index.md``.

Every campaign is loaded and checked before anything is generated or written.
A problem is reported as ``file: field (line N): reason`` (:mod:`hub.problems`), so
the comms team can find and fix it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from cchcc.project import Project
from hub.catalogue import Catalogue, CampaignEntry, PlacementEntry
from hub.problems import Problem, ProblemsError, line_of, read_yaml, validate_mapping

CAMPAIGN_FILE = "campaign.yml"
LANDING_FILE = "index.md"
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")

_PLACEMENT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])$")


def _placement_id(value: str) -> str:
    if not _PLACEMENT_ID.match(value):
        raise ValueError("must be short and use only lowercase letters, digits and hyphens (for example lg-library)")
    return value


PLACEMENT_ID_HINT = (
    "Short: lowercase letters, digits and hyphens (for example lg-library). Unique across all campaigns. "
    "It is printed in the QR code, so never change it once posters are printed."
)
# The schema says what the check says, so the editor (cchcc.site.cms) can refuse the same ids as you type.
PlacementId = Annotated[
    str,
    AfterValidator(_placement_id),
    WithJsonSchema({"type": "string", "pattern": _PLACEMENT_ID.pattern, "minLength": 2, "maxLength": 24}),
]
Format = Literal["poster-a3", "poster-a4", "flyer-a5", "flyer-a6"]
# The first words of the example copy `cchcc campaign new` writes (cchcc.site.scaffold): a page that
# still holds them was never written, so it is not published.
SCAFFOLD_MARKER = "Write a few short sentences here"
UNKNOWN_KEY = "unknown key (check the spelling; run 'cchcc campaign new' to see every key)"


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


class CampaignError(ProblemsError):
    """One or more campaign files are wrong; ``problems`` lists them all."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Placement(_Strict):
    """One place a poster or flyer goes. Its id is printed in the QR code, so it never changes."""

    id: PlacementId = Field(title="Placement id", description=PLACEMENT_ID_HINT)
    name: str = Field(min_length=1, max_length=80, description="What the place is, for example Lincoln Green library.")
    format: Format = Field(description="Poster (A3 or A4) or flyer (A5 or A6).")
    location: str | None = Field(
        default=None, max_length=200, description="Exactly where it goes, for the person putting it up."
    )
    copies: int = Field(default=1, ge=1, le=5000, description="How many to print.")
    outdoor: bool = Field(default=False, description="On for bus stops and other outside spots (a tougher QR code).")
    viewing_distance_m: float | None = Field(
        default=None, gt=0, le=10, title="Viewing distance (metres)",
        description="How far away people stand. The QR code is printed at least a tenth of that wide.",
    )

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

    title: str = Field(min_length=1, max_length=80, description="Shown in the browser tab and on the print pack.")
    headline: str = Field(
        min_length=1, max_length=70, description="The big words on the page and on every poster. Keep it short."
    )
    summary: str = Field(
        min_length=1, max_length=160, description="One line of copy for the posters and under the headline."
    )
    area: str = Field(min_length=1, max_length=120, description="Where the campaign runs, in words people know.")
    starts: dt.date = Field(description="The first day of the campaign.")
    ends: dt.date = Field(description="The last day. It must not be before the start.")
    roles: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]] = Field(
        default=[], max_length=6, title="Jobs to suggest",
        description="Up to 6 careers pages shown under the form.",
        json_schema_extra={"choices_from": "careers"},
    )
    redirect_after_end: str | None = Field(
        default=None, title="After the campaign ends, send people to",
        description="A page on this site such as /get-in-touch/, or an https:// address. Posters cannot be "
        "reprinted, so set this; without it the QR codes keep opening this campaign's page.",
    )
    placements: list[Placement] = Field(
        min_length=1, description="Every place a poster or flyer goes. Each gets its own QR code."
    )

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


# --- loading -------------------------------------------------------------------------------------


def role_pages(project: Project) -> dict[str, str]:
    """Careers role slugs that exist in the site, with their page titles."""
    folder = project.careers_dir
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
    import yaml

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


def _landing_copy(project: Project, landing: Path) -> tuple[str, list[Problem]]:
    """The landing page copy in ``index.md``, and what is wrong with it."""
    rel = project.relative(landing)
    if not landing.is_file():
        return "", [Problem(rel, "(file)", "missing; every campaign needs landing page copy in index.md")]
    try:
        body = landing.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return "", [Problem(rel, "(file)", "is not UTF-8 text")]
    if body.lstrip().startswith("---"):
        return body, [Problem(rel, "(front matter)", f"not needed here; put settings in {CAMPAIGN_FILE}")]
    if not body.strip():
        return body, [Problem(rel, "(file)", "is empty; write a few sentences for the landing page")]
    if SCAFFOLD_MARKER in body:
        return body, [Problem(
            rel, "(file)",
            "still holds the example text from 'cchcc campaign new'; replace it with a few sentences about this campaign",
            next((n for n, line in enumerate(body.splitlines(), 1) if SCAFFOLD_MARKER in line), None),
        )]
    return body, []


def load_campaign(project: Project, folder: Path, roles: dict[str, str] | None = None) -> tuple[Campaign | None, list[Problem]]:
    """Load one campaign folder. Returns (campaign or None, problems)."""
    slug = folder.name
    yml = folder / CAMPAIGN_FILE
    rel = project.relative(yml)
    problems: list[Problem] = []
    if not SLUG_RE.match(slug):
        problems.append(Problem(
            project.relative(folder), "(folder name)",
            "must use only lowercase letters, digits and hyphens (it becomes the web address /campaigns/<name>/)",
        ))
    body, found = _landing_copy(project, folder / LANDING_FILE)
    problems += found
    if not yml.is_file():
        return None, problems + [Problem(rel, "(file)", "missing")]
    try:
        data, tree = read_yaml(yml, rel)
        parsed = validate_mapping(
            CampaignFile, data, rel, tree=tree, unknown_key=UNKNOWN_KEY,
            what="keys such as title, starts, ends and placements",
        )
    except ProblemsError as exc:
        return None, problems + exc.problems
    if roles:  # checked once the careers pages exist
        known = ", ".join(sorted(roles)) or "none yet"
        problems += [
            Problem(rel, f"roles[{i}]", f"no careers page called '{role}' in site/docs/careers (known: {known})",
                    line_of(tree, ("roles", i)))
            for i, role in enumerate(parsed.roles)
            if role not in roles
        ]
    if parsed.redirect_after_end and parsed.redirect_after_end.rstrip("/") == f"/campaigns/{slug}":
        problems.append(Problem(
            rel, "redirect_after_end", "points back at this campaign; choose where people go after it ends",
            line_of(tree, ("redirect_after_end",)),
        ))
    if problems:
        return None, problems
    titles = {r: (roles or {}).get(r, r.replace("-", " ").capitalize()) for r in parsed.roles}
    return Campaign(slug=slug, folder=folder, data=parsed, body=body, role_titles=titles), []


def load_all(project: Project) -> list[Campaign]:
    """Load and check every campaign. Raises CampaignError listing every problem found."""
    base = project.campaigns_dir
    if not base.is_dir():
        return []
    roles = role_pages(project)
    campaigns: list[Campaign] = []
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        campaign, found = load_campaign(project, folder, roles)
        problems += found
        if campaign is None:
            continue
        rel = project.relative(folder / CAMPAIGN_FILE)
        clashes = [
            Problem(rel, f"placements[{i}].id",
                    f"'{p.id}' is already used by {owner[p.id]}; placement ids must be unique across all campaigns")
            for i, p in enumerate(campaign.placements)
            if p.id in owner
        ]
        owner.update({p.id: rel for p in campaign.placements if p.id not in owner})
        problems += clashes
        if not clashes:
            campaigns.append(campaign)
    for stray in sorted(p for p in base.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml", ".md")):
        if stray.name.lower() != "readme.md":
            problems.append(Problem(
                project.relative(stray), "(file)",
                "campaigns live in folders: campaigns/<name>/campaign.yml and index.md",
            ))
    if problems:
        raise CampaignError(problems)
    return campaigns


def check_all(project: Project) -> list[Problem]:
    """``cchcc check``: every campaign problem."""
    try:
        load_all(project)
    except CampaignError as exc:
        return exc.problems
    return []


# --- catalogue for the functions ---------------------------------------------------------------


def catalogue(campaigns: list[Campaign]) -> Catalogue:
    """Public names by id for notifications (:mod:`hub.catalogue`): nothing personal."""
    return Catalogue(
        campaigns={c.slug: CampaignEntry(title=c.data.title) for c in campaigns},
        placements={
            p.id: PlacementEntry(name=p.name, location=p.location, campaign=c.slug)
            for c in campaigns
            for p in c.placements
        },
    )
