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

from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from cchcc.project import Project
from hub import attribution, i18n, postcodes
from hub.catalogue import Catalogue, CampaignEntry, EventEntry, PlacementEntry
from hub.problems import Problem, ProblemsError, line_of, read_yaml, validate_mapping

CAMPAIGN_FILE = "campaign.yml"
LANDING_FILE = "index.md"
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")

_PLACEMENT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])$")


# What the intake records when a referral names a placement the programme does not have: a real
# placement of that name would be counted with the forged ones.
RESERVED_IDS = frozenset({attribution.UNKNOWN})


def _placement_id(value: str) -> str:
    if not _PLACEMENT_ID.match(value):
        raise ValueError("must be short and use only lowercase letters, digits and hyphens (for example lg-library)")
    if value in RESERVED_IDS:
        raise ValueError(f"'{value}' is kept for referrals that name no real placement: choose another id")
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
LONDON = ZoneInfo("Europe/London")
# What `cchcc campaign new` writes in campaign.yml where the comms team must put their own words
# (headline, summary, area, placement names): never published.
PLACEHOLDER = "[Replace this"


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


def _event_time(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        raise ValueError("write the time without a time zone: times are Leeds time (Europe/London)")
    return value


EventTime = Annotated[dt.datetime, AfterValidator(_event_time)]


def _postcode(value: str) -> str:
    try:
        return postcodes.normalise(value)
    except postcodes.PostcodeError as exc:
        raise ValueError("is not a full UK postcode (for example LS9 7AB)") from exc


def _area_postcode(value: str) -> str:
    """A postcode sector (``LS9 7``) or district (``LS14``) the campaign reaches."""
    try:
        return postcodes.normalise_sector(value) if " " in value.strip() else postcodes.normalise_district(value)
    except postcodes.PostcodeError as exc:
        raise ValueError("is not a postcode sector like LS9 7 or a district like LS14") from exc


def _language(value: str) -> str:
    if value == i18n.DEFAULT:
        raise ValueError("English is on every poster already; list the other languages")
    if not i18n.is_language(value):
        known = ", ".join(c for c in i18n.codes() if c != i18n.DEFAULT) or "none yet"
        raise ValueError(
            f"unknown language '{value}'; the site has {known} "
            "(a new language is a file functions/hub/translations/<code>.po)"
        )
    return value


# The editor (cchcc.site.cms) offers the site's languages to choose from; the check says the same.
PosterLanguage = Annotated[
    str,
    AfterValidator(_language),
    WithJsonSchema({"type": "string", "enum": [c for c in i18n.codes() if c != i18n.DEFAULT]}),
]


class Event(_Strict):
    """Something people can come to (a jobs fair, a pop-up stall): its own page, calendar file and QR poster."""

    id: PlacementId = Field(description=(
        "Short id in the event's web address and QR code (/events/<id>/, /q/<id>): lowercase letters, digits "
        "and hyphens, unique across every placement and event. Never change it once posters are printed."
    ))
    title: str = Field(
        min_length=1, max_length=80, title="Event name",
        description="What the event is called, for example Jobs fair at the Compton Centre.",
    )
    starts: EventTime = Field(description="When it starts, Leeds time, e.g. 2027-03-06 10:00")
    ends: EventTime = Field(description="When it ends, Leeds time, e.g. 2027-03-06 14:00")
    venue: str = Field(min_length=1, max_length=100, description="The building or place, e.g. Compton Centre")
    address: str = Field(min_length=1, max_length=200, description="Street and area in plain text, without the postcode")
    postcode: Annotated[str, AfterValidator(_postcode)] = Field(description="The venue's postcode, e.g. LS9 7AB")
    details: str | None = Field(default=None, max_length=600, description="What happens there, in a few short sentences")
    access: str = Field(
        min_length=1, max_length=300,
        description="Step-free access and facilities, e.g. Step-free entrance from the car park and an accessible toilet",
    )
    bring: str | None = Field(default=None, max_length=300, description="What to bring, if anything")
    booking: Literal["none", "register"] = Field(
        default="none", description="none: people just come along; register: the event page has the sign-up form",
    )
    format: Format = Field(default="poster-a4", description="Size of the event's own QR poster")
    copies: int = Field(default=1, ge=1, le=5000, description="How many event posters to print")
    location: str | None = Field(default=None, max_length=200, description="Where the event poster goes")

    @model_validator(mode="after")
    def _times(self) -> "Event":
        if self.ends <= self.starts:
            raise ValueError(f"ends: the event ends ({self.ends:%Y-%m-%d %H:%M}) before it starts ({self.starts:%Y-%m-%d %H:%M})")
        return self

    @property
    def starts_at(self) -> dt.datetime:
        return self.starts.replace(tzinfo=LONDON)

    @property
    def ends_at(self) -> dt.datetime:
        return self.ends.replace(tzinfo=LONDON)

    def over(self, today: dt.date) -> bool:
        """Finished before ``today`` (builds run at least daily, so a past event leaves the list the next day)."""
        return self.ends.date() < today

    # An event's poster is printed like a placement's.
    @property
    def name(self) -> str:
        return f"Poster for {self.title}"

    @property
    def outdoor(self) -> bool:
        return False

    @property
    def viewing_distance_m(self) -> None:
        return None

    @property
    def paper(self) -> PaperFormat:
        return FORMATS[self.format]

    @property
    def qr_mm(self) -> float:
        return max(self.paper.qr_default_mm, QR_MIN_MM)


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
    postcodes: list[Annotated[str, AfterValidator(_area_postcode)]] = Field(
        default=[], max_length=30, title="Postcode sectors it reaches",
        description="Sectors such as LS9 7 or districts such as LS14. The page then says which partner will "
        "contact people there, worked out from the routing rules in programme.yml.",
    )
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
    languages: list[PosterLanguage] = Field(
        default=[], max_length=4, title="Poster languages",
        description="Other languages for every poster's strapline (scan, then choose the language on the page): "
        "the site's language codes, such as ur, pl and ro.",
    )
    placements: list[Placement] = Field(
        min_length=1, description="Every place a poster or flyer goes. Each gets its own QR code."
    )
    events: list[Event] = Field(
        default=[], description="Events people can come to. Each gets its own page, calendar file and QR poster."
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
        for kind, items in (("placements", self.placements), ("events", self.events)):
            for i, item in enumerate(items):
                if item.id in seen:
                    raise ValueError(f"{kind}[{i}].id: '{item.id}' is used twice in this campaign")
                seen.add(item.id)
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

    @property
    def events(self) -> list[Event]:
        return list(self.data.events)

    @property
    def printed(self) -> list[Placement | Event]:
        """Everything with its own QR code: the placements, then each event's poster."""
        return [*self.data.placements, *self.data.events]

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
    problems += _placeholders(rel, data, tree)
    if problems:
        return None, problems
    titles = {r: (roles or {}).get(r, r.replace("-", " ").capitalize()) for r in parsed.roles}
    return Campaign(slug=slug, folder=folder, data=parsed, body=body, role_titles=titles), []


def _placeholders(rel: str, data: object, tree, loc: tuple = ()) -> list[Problem]:
    """Every value still holding the scaffold's ``[Replace this ...]`` text."""
    if isinstance(data, str):
        if PLACEHOLDER in data:
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
            return [Problem(rel, field, "still has the example text from 'cchcc campaign new'; put your own words here",
                            line_of(tree, loc))]
        return []
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in _placeholders(rel, value, tree, (*loc, key))]
    if isinstance(data, list):
        return [p for i, value in enumerate(data) for p in _placeholders(rel, value, tree, (*loc, i))]
    return []


def line_in(project: Project, campaign: Campaign, loc: tuple) -> int | None:
    """The line of ``loc`` in a campaign's ``campaign.yml``, for problems found after loading."""
    try:
        _, tree = read_yaml(campaign.folder / CAMPAIGN_FILE, project.relative(campaign.folder / CAMPAIGN_FILE))
    except ProblemsError:
        return None
    return line_of(tree, loc)


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
            Problem(rel, f"{kind}[{i}].id",
                    f"'{p.id}' is already used by {owner[p.id]}; placement ids must be unique across all campaigns, events included",
                    line_in(project, campaign, (kind, i, "id")))
            for kind, items in (("placements", campaign.placements), ("events", campaign.events))
            for i, p in enumerate(items)
            if p.id in owner
        ]
        owner.update({p.id: rel for p in campaign.printed if p.id not in owner})
        problems += clashes
        if not clashes:
            campaigns.append(campaign)
    for stray in sorted(p for p in base.iterdir() if p.is_file() and p.suffix in (".yml", ".yaml", ".md")):
        if stray.name.lower() not in ("readme.md", "published.yml"):  # published.yml: cchcc.site.published
            problems.append(Problem(
                project.relative(stray), "(file)",
                "campaigns live in folders: campaigns/<name>/campaign.yml and index.md",
            ))
    if problems:
        raise CampaignError(problems)
    return campaigns


def check_all(project: Project) -> list[Problem]:
    """Every campaign problem (:func:`load_all`'s)."""
    try:
        load_all(project)
    except CampaignError as exc:
        return exc.problems
    return []


def out_of_date(project: Project, campaigns: list[Campaign], today: dt.date) -> list[Problem]:
    """What time has made wrong: an event that is over but still asks people to register.

    ``cchcc check`` reports these as problems for the comms team to fix; ``cchcc build`` only warns,
    so that the daily build still takes past events off the list (their pages stop taking sign-ups).
    """
    problems = []
    for campaign in campaigns:
        rel = project.relative(campaign.folder / CAMPAIGN_FILE)
        for i, event in enumerate(campaign.events):
            if event.booking == "register" and event.over(today):
                problems.append(Problem(
                    rel, f"events[{i}].booking",
                    f"the event '{event.id}' ended on {event.ends:%-d %B %Y}, so nobody can register any more; "
                    "set booking: none (its page stays up and says it has finished)",
                    line_in(project, campaign, ("events", i, "booking")),
                ))
    return problems


# --- catalogue for the functions ---------------------------------------------------------------


def when(event: Event) -> str:
    """The date and time in words: ``Saturday 6 March 2027, 10am to 2pm`` (or across days)."""

    def clock(moment: dt.datetime) -> str:
        text = moment.strftime("%-I:%M%p").lower().replace(":00", "")
        return {"12pm": "midday", "12am": "midnight"}.get(text, text)

    start, end = event.starts, event.ends
    if start.date() == end.date():
        return f"{start:%A %-d %B %Y}, {clock(start)} to {clock(end)}"
    return f"{start:%A %-d %B %Y}, {clock(start)}, to {end:%A %-d %B %Y}, {clock(end)}"


def catalogue(campaigns: list[Campaign], codes: dict | None = None) -> Catalogue:
    """Public names by id for notifications (:mod:`hub.catalogue`): nothing personal. ``codes``:
    where each ``/q/<id>/`` points (:func:`cchcc.site.campaign_pages.codes`), for the scans function."""
    return Catalogue(
        codes=codes or {},
        campaigns={c.slug: CampaignEntry(title=c.data.title) for c in campaigns},
        placements={
            p.id: PlacementEntry(name=p.name, location=p.location, campaign=c.slug)
            for c in campaigns
            for p in c.placements
        },
        events={e.id: EventEntry(title=e.title, when=when(e), campaign=c.slug) for c in campaigns for e in c.events},
    )
